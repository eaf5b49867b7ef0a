"""The admin API's bodies and parameters: fault rules, the clock, reset, ``limit``.

The admin API is plain REST beside the vendor's API, but its input comes from outside all the
same (a test, a script, ``curl``): each problem is a 700 naming the field, in the same words as
the API's (``problems.py``), and never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..latency import Latency
from ..parsing import is_json_blank, parse_int
from .body import load_json
from .coercion import integer_plan, whole, whole_numbers
from .order import field_order
from .problems import json_type, schema_problems

if TYPE_CHECKING:
    from ..spec import Spec


def json_body(raw: bytes) -> Any:
    """Any JSON value (an empty body is ``{}``); the caller says what shape it wants."""
    if is_json_blank(raw):
        return {}
    try:
        return load_json(raw, "body")
    except ValueError:
        raise InvalidInput(["body: not valid JSON"]) from None


def checked_body(spec: Spec, raw: bytes, ref: str) -> dict[str, Any]:
    """The JSON body checked against ``schemas/admin.json``'s ``ref``: an unknown key is named
    (``set: is not a documented field``), never read as a missing one."""
    body = json_body(raw)
    if not isinstance(body, dict):
        name, _, pointer = ref.partition("#/$defs/")
        fields = ", ".join(spec.schema(name)["$defs"][pointer].get("properties", {}))
        raise InvalidInput([f"body: must be a JSON object with {fields}, got {json_type(body)}"])
    body = whole_numbers(body, integer_plan(spec, ref))
    problems = schema_problems(spec.validator(ref), body, order=field_order(spec, ref))
    if problems:
        raise InvalidInput(problems)
    return body


def empty_body(raw: bytes, call: str) -> None:
    """A call that takes nothing: a field sent is a field the caller expected to matter."""
    body = json_body(raw)
    if body != {}:
        fields = ", ".join(str(k)[:64] for k in body) if isinstance(body, dict) else json_type(body)
        raise InvalidInput([f"body: {call} takes no fields (send nothing or {{}}), got {fields}"])


def limit(spec: Spec, raw: str | None, default: int) -> int:
    """The ``limit`` query parameter, in the documented range."""
    if raw is None:
        return default
    bounds = spec.schema("admin.json")["$defs"]["limit"]
    try:
        return parse_int(raw, "limit", minimum=bounds["minimum"], maximum=bounds["maximum"])
    except ValueError as exc:
        raise InvalidInput([str(exc)]) from None


def fault_rule(spec: Spec, data: Any) -> dict[str, Any]:
    """One fault rule checked against ``schemas/fault-rule.json`` and its latency spelling read
    (every problem of the rule at once); whole-number floats made ints (``{"times": 2.0}`` is 2)
    and match values too (800.0 is the 800 a coerced item carries). The rule's data, for
    ``FaultRule`` to build from."""
    if not isinstance(data, Mapping):
        raise InvalidInput(["rule: must be a JSON object"])
    data = whole_numbers(dict(data), integer_plan(spec, "fault-rule.json"))
    order = field_order(spec, "fault-rule.json", at="rule")
    problems = schema_problems(spec.validator("fault-rule.json"), data, "rule", order=order)
    latency = data.get("latency")
    if isinstance(latency, str) and not any(p.startswith("rule.latency: ") for p in problems):
        try:  # what the pattern cannot say: a range low first, p99 at least p50
            Latency.parse(latency)
        except ValueError as exc:
            problems = order.ordered([*problems, f"rule.latency: {exc}"])
    if problems:
        raise InvalidInput(problems)
    if "match" in data:
        data["match"] = {key: whole(value) for key, value in data["match"].items()}
    return data


#: A list of rules is checked until this many bad ones are named: an answer (and the work behind
#: it) stays small for a list of 100 000 bad rules (it once took 15 s and answered 15 MB).
MAX_BAD_RULES = 20


def fault_rules(spec: Spec, raw: bytes) -> tuple[list[dict[str, Any]], bool]:
    """``POST /__admin/faults``: one rule or a list of rules, every one checked before any is
    stored; the problems of every rule are listed, each named by its rule's index, in index
    order. Returns the rules and whether a list was sent."""
    body = json_body(raw)
    many = isinstance(body, list)
    listed = body if many else [body]
    rules, problems, bad = [], [], 0
    for index, rule in enumerate(listed):
        try:
            rules.append(fault_rule(spec, rule))
        except InvalidInput as exc:
            prefix = f"[{index}] " if many else ""
            problems += [prefix + p for p in exc.problems]
            bad += 1
            if bad == MAX_BAD_RULES and index + 1 < len(listed):
                problems.append(f"[{index + 1}]-[{len(listed) - 1}]: not checked "
                                f"(the first {MAX_BAD_RULES} bad rules are named)")
                break
    if problems:
        raise InvalidInput(problems)
    return rules, many
