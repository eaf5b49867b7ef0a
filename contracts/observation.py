"""What the kit saw for one example or probe: what the client did, and what crossed the wire.

The runner fills these in; the checks judge them. Journal entries are the fake's own records
(``GET /__admin/requests``), so nothing here depends on the client's HTTP library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mockserver.parsing import read_int

from .fake import QUERY, SUBMIT, SUCCESS
from .scenarios import Scenario
from .strategies import Request


@dataclass
class Outcome:
    """How one adapter call ended.

    kind: ``returned`` (``value``), ``rejected`` (``code``, ``message``), ``transport``
    (``message``), ``task_failed`` (``message``), ``crashed`` (``message`` names the exception)
    or ``hung`` (still running after the bound). For a hung call, ``later`` is how it ended
    after the kit lifted the fault, when it did within the kit's grace (its ``elapsed``
    counted from the call's start): a client that gives up late is told apart from one that
    never gives up.
    """

    kind: str
    value: Any = None
    code: Any = None
    message: str = ""
    elapsed: float = 0.0
    log: str = ""  # what the adapter printed on stderr during the call (command adapters)
    later: Outcome | None = None

    def describe(self) -> str:
        """What the call did and when, in words ("raised TransportError('...') after 0.03 s")."""
        took = f" after {self.elapsed:.2f} s"
        if self.kind != "hung":
            return self.what() + took
        if self.later is not None:
            return f"had not returned{took} (it ended at {self.later.elapsed:.2f} s: {self.later.what()})"
        return f"had not returned{took}"

    def what(self) -> str:
        """How the call ended, without the time."""
        if self.kind == "returned":
            return f"returned {self.value!r}"
        if self.kind == "rejected":
            return f"raised Rejected({self.code!r}, {self.message!r})"
        if self.kind == "transport":
            return f"raised TransportError({self.message!r})"
        if self.kind == "task_failed":
            return f"raised TaskFailed({self.message!r})"
        if self.kind == "crashed":
            return f"crashed with {self.message}"
        return "had not returned"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "elapsed_s": round(self.elapsed, 3), "text": self.describe()}
        if self.kind == "returned":
            out["value"] = (
                self.value if isinstance(self.value, (str, int, float, list, type(None))) else repr(self.value)
            )
        if self.kind == "rejected":
            out["code"] = self.code if isinstance(self.code, (str, int)) else repr(self.code)
        if self.message:
            out["message"] = self.message
        if self.log:
            out["stderr"] = self.log
        if self.later is not None:
            out["later"] = self.later.as_dict()
        return out


@dataclass
class Observation:
    """One example (C1-C8) or probe (C9-C12) with everything a check may need."""

    phase: str  # "example", "transport" or "polling"
    outcome: Outcome
    entries: list[dict[str, Any]] = field(default_factory=list)  # the client's API requests, oldest first
    request: Request | None = None  # what the caller asked for (examples and transport probes)
    scenario: Scenario | None = None
    probe: str | None = None  # the probe's name
    task_id: str | None = None  # polling: the task the client waited for
    expected: Any = None  # polling: the result URLs per item, or the failed task's message
    rules: list[dict[str, Any]] = field(default_factory=list)  # what the fake was told

    def example(self) -> dict[str, Any]:
        """The input, for the report."""
        out: dict[str, Any] = {}
        if self.request is not None:
            out["params"] = self.request.describe()
        if self.scenario is not None:
            out["scenario"] = self.scenario.describe()
        if self.probe is not None:
            out["probe"] = self.probe
        if self.task_id is not None:
            out["taskId"] = self.task_id
        if self.rules:
            out["faultRules"] = self.rules
        return out


def is_submit(entry: dict[str, Any]) -> bool:
    return str(entry.get("path", "")).endswith(SUBMIT)


def is_query(entry: dict[str, Any]) -> bool:
    return str(entry.get("path", "")).endswith(QUERY)


def reached_api(entry: dict[str, Any]) -> bool:
    """Routed to an API endpoint and past the gateway (signature accepted or not checked)."""
    return entry.get("endpoint") is not None and not entry.get("gateway")


def valid(entry: dict[str, Any]) -> bool:
    """Reached the API and met every rule of the request schemas."""
    return reached_api(entry) and not entry.get("problems")


def answer(entry: dict[str, Any]) -> str:
    """What the fake answered, in words."""
    injected = entry.get("injected") or {}
    shape = f" in the {injected['shape']!r} shape" if injected.get("shape") else ""
    if entry.get("transport"):
        return f"transport fault {entry['transport']!r}"
    if entry.get("gateway"):
        return f"gateway error {entry['gateway']} (HTTP {entry.get('status')})"
    code = entry.get("resCode")
    if code == SUCCESS:
        task = f", taskId {entry['taskId']}" if entry.get("taskId") else ""
        status = f", taskStatus {entry['taskStatus']}" if entry.get("taskStatus") else ""
        return f"success (resCode 200{task}{status}){shape}"
    if code is not None:
        return f"resCode {code}{shape}"
    return f"HTTP {entry.get('status')}"


def evidence(entries: list[dict[str, Any]], limit: int = 8) -> list[dict[str, Any]]:
    """The requests and answers for the report (the first and last few when there are many)."""
    chosen = entries if len(entries) <= limit else entries[: limit // 2] + entries[-(limit // 2) :]
    out = []
    for e in chosen:
        item: dict[str, Any] = {"id": e.get("id"), "request": f"{e.get('method')} {e.get('path')}"}
        for key in ("params", "problems", "signing", "contentType"):
            if e.get(key):
                item[key] = e[key]
        item["answer"] = answer(e)
        out.append(item)
    if len(entries) > limit:
        out.insert(limit // 2, {"omitted": len(entries) - limit})
    return out


def wait_between(before: dict[str, Any], after: dict[str, Any]) -> float:
    """How long the client waited between the fake's answer to ``before`` and sending ``after``.

    From the journal's monotonic ``t`` (when the fake had read the request) and ``elapsedMs``
    (how long it took to answer): the fake's own work, large for a big image on a busy
    machine, is not counted against the client.
    """
    done = float(before["t"]) + float(before.get("elapsedMs") or 0) / 1000
    return round(max(0.0, float(after["t"]) - done), 4)


def gaps(entries: list[dict[str, Any]]) -> list[float]:
    """The client's wait before each request after the first (see ``wait_between``)."""
    timed = [e for e in entries if isinstance(e.get("t"), (int, float))]
    return [wait_between(a, b) for a, b in zip(timed, timed[1:], strict=False)]


Pair = tuple[dict[str, Any], dict[str, Any]]


def pairs(entries: list[dict[str, Any]]) -> list[Pair]:
    """Consecutive requests (that both carry the fake's arrival time)."""
    timed = [e for e in entries if isinstance(e.get("t"), (int, float))]
    return list(zip(timed, timed[1:], strict=False))


def stamp_between(before: dict[str, Any], after: dict[str, Any]) -> float | None:
    """Seconds between the two requests by the client's own signing ``timestamp`` (milliseconds
    since the epoch, taken as it signs, just before sending); None when one has none."""
    stamps = [read_int(s) if isinstance(s, str) else None for s in
              ((e.get("signing") or {}).get("timestamp") for e in (before, after))]
    if stamps[0] is None or stamps[1] is None:
        return None
    return round((stamps[1] - stamps[0]) / 1000, 4)


def measures(chosen: list[Pair]) -> list[tuple[str, list[float]]]:
    """The client's waits over these pairs, measured at the fake (always) and by the client's
    signing timestamps (when every request is signed).

    The fake's measure is exact about what arrived but, on a busy machine, a server thread
    that starts late moves a request's time; the timestamps say when the client sent it but
    only to the millisecond and only for signed calls. A pacing rule is broken only when it is
    broken by every measure there is, so machine noise does not blame a good client."""
    out = [("at the fake", [wait_between(a, b) for a, b in chosen])]
    stamped = [stamp_between(a, b) for a, b in chosen]
    if chosen and all(s is not None for s in stamped):
        out.append(("by the client's timestamps", [s for s in stamped if s is not None]))
    return out


def code_of(value: Any) -> Any:
    """A reported code as an int when it spells one ("501" and 501 are the same code)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, str) and (number := read_int(value, signed=True, padded=True)) is not None:
        return number  # ASCII digits only: "²" passes str.isdigit() and then fails int()
    return value
