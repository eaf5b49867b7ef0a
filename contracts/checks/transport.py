"""C9: a submit that meets a broken transport ends as an error, in bounded time.

One fixed probe per transport fault of ``schemas/fault-rule.json`` (field ``transport``), not
a search: a client without a timeout costs one bounded wait, not one per example.
"""

from __future__ import annotations

from ..observation import Observation
from ..titles import late_transport, misreport, over
from .registry import Broken, Context, Probe, obligation

#: Transport faults each submit must survive; ``timeout`` costs the client's own full timeout.
TRANSPORT_PROBES = tuple(
    Probe(kind, ({"transport": kind},), slow=kind == "timeout")
    for kind in ("reset", "empty", "malformed", "truncated", "http502", "http503", "timeout")
)


@obligation(
    "C9",
    "transport",
    "reset, empty reply, malformed JSON, a 502/503 page and no reply end as an error in bounded time",
    phase="transport",
    probes=TRANSPORT_PROBES,
)
def transport(obs: Observation, ctx: Context) -> None:
    bound = ctx.settings.transport_bound_s
    kind = obs.outcome.kind
    if over(obs.outcome, bound):
        title, why = late_transport(obs, bound, ctx.hang_s)
        raise Broken(f"{obs.probe}: {title}", f"{why} (the client {obs.outcome.describe()})")
    if kind in ("returned", "crashed", "task_failed"):
        raise Broken(f"{obs.probe}: {misreport(obs)}", f"the client {obs.outcome.describe()}")
