"""The fault decision: which fault (if any) one request gets, and what that does to its answer.

``Injector`` owns the programmed rules of one fake (added, listed, deleted, installed at
start-up) and decides per request: a ``Prefer`` header first (already read and checked by
``validation.prefer``), then the rules in order (the store fires them atomically). The
decision comes back as an ``Injected``: the behaviour raises it with ``raise_injected`` where
its order of checks says, and the dispatcher applies what is left to the answer with
``apply_to_reply`` (a fault that carries the answer, a shape, a delay).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..latency import Latency
from .kinds import ANSWER_FAULTS
from .rules import FaultRule, same_rules
from .shapes import reshape_body

if TYPE_CHECKING:
    from ..http import Reply
    from ..spec import Spec
    from ..storage import Storage
    from ..validation import Wish

#: The detail of a 700 that was asked for rather than earned (no field is at fault).
INJECTED = "injected by bgmock (no field of this request is at fault)"
#: The resCode of a bad input, which an injected one says it was asked for (``INJECTED``).
INVALID_INPUT = 700


def injected_error(code: int, message: str | None = None) -> ApiError:
    """The error a test asked for: a 700 says no field is at fault."""
    return ApiError(code, INJECTED if code == INVALID_INPUT else None, message=message)


class TransportFault(Exception):
    """Not an answer: the transport must misbehave (reset, empty reply, 502 page, ...)."""

    def __init__(self, kind: str, delay_ms: int = 0) -> None:
        super().__init__(kind)
        self.kind = kind
        self.delay_ms = delay_ms


@dataclass
class Injected:
    """What a fired rule or a ``Prefer`` header asks for: an error code or a transport fault."""

    error: ApiError | None = None
    transport: str | None = None
    #: The request's own delay (``Prefer: delay=``, a rule's ``delayMs`` or ``latency``), which
    #: wins over the endpoint's latency, 0 included; None: none, the endpoint's latency applies.
    delay_ms: int | None = None
    rule_id: str | None = None
    shape: str | None = None  # reshape the answer (``apply_to_reply`` does, on the envelope)



class Injector:
    """One fake's fault rules and the decision per request."""

    def __init__(self, spec: Spec, store: Storage, chance: Callable[[], float]) -> None:
        self.spec = spec
        self.store = store
        self.chance = chance

    def _rule_id(self) -> str:
        # From the store, so that worker processes sharing it never hand out the same ID.
        return f"rule-{self.store.ids.next('rule')}"

    def install_startup(self, rules: Sequence[Any], owner: str) -> list[dict[str, Any]]:
        """Install the configured rules as ``owner``'s (the fake's, whichever of its workers
        installs them). On a shared store, start-up rules that do the same as these
        (``storage.base.install_startup_rules``) stay, counters and all, with ``owner`` one more
        of their owners; others are replaced. Returns those replaced, so a start can say it
        changed what its siblings inject."""
        fresh = [FaultRule.from_json(self.spec, data, self._rule_id()) for data in rules]
        return [rule.to_json() for rule in self.store.rules.install_startup(fresh, owner)]

    def withdraw_startup(self, owner: str) -> list[dict[str, Any]]:
        """Take ``owner`` off the owners of the start-up rules in force; those left with no owner
        are deleted (``storage.base.withdraw_startup_rules``), and returned."""
        return [rule.to_json() for rule in self.store.rules.withdraw_startup(owner)]

    def startup_in_force(self) -> tuple[list[FaultRule], tuple[str, ...]]:
        """The start-up rules in force and their owners (before a reset: ``share_startup``)."""
        return self.store.rules.startup()

    def share_startup(self, before: tuple[list[FaultRule], tuple[str, ...]]) -> None:
        """After a reset installed the receiving fake's start-up rules: when the rules in force
        before it (``startup_in_force``) did the same, their owners own these too, so a sibling
        started with the same rules keeps them in force when the receiving fake stops."""
        rules, owners = before
        now, _ = self.store.rules.startup()
        if now and same_rules(rules, now):
            for owner in owners:
                self.store.rules.install_startup(now, owner)  # the same rules: one more owner

    def add(self, data: Any) -> dict[str, Any]:
        """Validate and store a rule; returns it with its id."""
        rule = FaultRule.from_json(self.spec, data, self._rule_id())
        self.store.rules.add(rule)
        return rule.to_json()

    def all(self) -> list[dict[str, Any]]:
        return [rule.to_json() for rule in self.store.rules.all()]

    def delete(self, rule_id: str | None = None) -> int:
        return self.store.rules.delete(rule_id)

    def decide(self, endpoint: str, candidates: Sequence[Mapping[str, Any]], wish: Wish) -> Injected | None:
        """The fault this request gets: the ``Prefer`` wish first, then programmed rules in order."""
        delay = wish.delay_ms  # None: the header asked for none
        if wish.code is not None:
            return Injected(error=injected_error(wish.code), delay_ms=delay)
        if wish.transport is not None:
            return Injected(transport=wish.transport, delay_ms=delay)
        rule = self.store.rules.fire(endpoint, candidates, self.chance)
        if rule is None:
            return Injected(delay_ms=delay) if delay is not None else None
        error = None
        if rule.res_code is not None:
            error = injected_error(rule.res_code, rule_message(self.spec, rule))
        elif rule.undocumented_code is not None:
            error = ApiError(rule.undocumented_code, message=rule.res_message or "unknown error")
        delay_ms = rule.delay_ms if rule.delay_ms is not None else delay  # the rule's own, else the header's
        if rule.latency:  # a distribution instead of a fixed delay (checked when the rule was added)
            delay_ms = int(round(Latency.parse(rule.latency).sample(self.chance())))
        return Injected(
            error=error, transport=rule.transport, delay_ms=delay_ms, rule_id=rule.id, shape=rule.shape
        )

    def task_outcome(self, items: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
        """A ``task`` rule's outcome for a new task of these items: (outcome, message), or None."""
        rule = self.store.rules.fire("task", items, self.chance)
        if rule is None or not rule.outcome:
            return None
        if rule.outcome == "failed":
            return rule.outcome, rule_message(self.spec, rule, default_code=801) or ""
        return rule.outcome, "running"


def raise_injected(injected: Injected) -> None:
    """Turn a fault decision into the exception the transport layer answers with.

    Faults that carry the real answer (``ANSWER_FAULTS``) raise nothing: the request goes on
    and the dispatcher hands its answer to the transport to cut short or send slowly.
    """
    if injected.transport in ANSWER_FAULTS:
        return
    delay_ms = injected.delay_ms if injected.delay_ms is not None else 0
    if injected.transport:
        raise TransportFault(injected.transport, delay_ms)
    if injected.error is not None:
        # A new exception each time: the stored one, raised, would carry a traceback whose
        # frames hold ``injected`` and so itself, a cycle that kept the request alive until a
        # full collection.
        stored = injected.error
        error = ApiError(stored.res_code, stored.detail, message=stored.message, delay_ms=delay_ms)
        try:
            raise error
        finally:
            del error


def apply_to_reply(reply: Reply, injected: Injected | None) -> Reply:
    """The answer as the decision leaves it: a fault that carries the answer handed to the
    transport, an off-schema shape, a delay."""
    if injected is None:
        return reply
    if injected.transport in ANSWER_FAULTS and not reply.transport:
        reply.transport = injected.transport  # the real answer, cut short or sent slowly
    if injected.shape and not reply.transport:
        body = reshape_body(reply.body, injected.shape)
        if body is not None:
            reply = replace(reply, body=body)
    if injected.delay_ms is not None:  # the request's own delay, 0 included (a success answer's too)
        reply.delay_ms = injected.delay_ms
    return reply


def own_delay(injected: Injected | None) -> bool:
    """Whether the request has a delay of its own, which the endpoint's latency does not replace."""
    return injected is not None and injected.delay_ms is not None


def rule_message(spec: Spec, rule: FaultRule, default_code: int = 0) -> str | None:
    """The ``resMessage`` a fired rule answers with (None: the catalog's)."""
    code = rule.res_code or default_code
    if rule.res_message is None:
        return spec.errors[code].message if default_code else None
    if code == INVALID_INPUT:
        return f"{spec.errors[INVALID_INPUT].message}: {rule.res_message}"
    return rule.res_message
