"""The contract kit's one registry: an obligation carries its phase, scenario kinds and probes,
so a new one is a single registration; the runner, the scenarios and ``only`` follow it.

The new obligations here are throwaway ones, registered by the test alone and forgotten after
it (the way Schemathesis's own tests register a check and unregister it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from contract_clients import BOUND_FLAGS, BOUNDS

from contracts import REGISTRY, Broken, Probe, Settings, SettingsError, Skip, obligation, run
from contracts.checks import Context
from contracts.observation import Observation, is_submit
from contracts.reference_client import make_fast_adapter
from mockserver.cli import main

FAST = {
    "examples": 1,
    "derandomize": True,
    **BOUNDS,
    "poll_min_interval_s": 0.05,
    "shrink_budget_s": 1.0,
    "max_attempts": 4,
}


@pytest.fixture
def throwaway() -> Iterator[list[str]]:
    """IDs a test registers; unregistered after it, whatever happens."""
    ids: list[str] = []
    yield ids
    for oid in ids:
        REGISTRY.pop(oid, None)


def _register_c13_c14(ids: list[str]) -> None:
    """C13 (examples: every success submit reaches the fake with a modelNum, broken on purpose
    so its verdict shows) and C14 (a transport probe of its own that no other obligation runs)."""

    @obligation("C13", "model named", "a throwaway: broken whenever a submit arrives", kinds=("success",))
    def model_named(obs: Observation, ctx: Context) -> None:
        submits = [e for e in obs.entries if is_submit(e)]
        if not submits:
            raise Skip("no submit")
        raise Broken("seen a submit", f"{len(submits)} submit(s) with {submits[0].get('params')}")

    ids.append("C13")

    @obligation(
        "C14",
        "gateway page",
        "a throwaway: the 502 page probe under a name of its own",
        phase="transport",
        probes=(Probe("bad-gateway-again", ({"transport": "http502"},)),),
    )
    def gateway_page(obs: Observation, ctx: Context) -> None:
        if obs.outcome.kind not in ("transport", "rejected"):
            raise Broken(f"{obs.probe}: not an error", obs.outcome.describe())

    ids.append("C14")


def test_a_new_obligation_is_one_registration_and_is_run_and_reported(
    throwaway: list[str], tmp_path: Path
) -> None:
    _register_c13_c14(throwaway)
    assert list(REGISTRY)[-2:] == ["C13", "C14"]  # after C12: by number, not as text
    result = run(make_fast_adapter, only="C13,C14", **FAST)
    verdicts = {v.id: v for v in result.verdicts}
    assert set(verdicts) == {"C13", "C14"}
    assert verdicts["C13"].status == "broken" and "seen a submit" in result.text(), result.text()
    assert verdicts["C14"].status == "kept", result.text()
    assert verdicts["C14"].judged == 1  # its one probe, and none of C9's
    path = tmp_path / "report.json"
    result.write_json(str(path))
    report = json.loads(path.read_text())
    assert [o["id"] for o in report["obligations"]] == ["C13", "C14"]
    assert report["obligations"][0]["failures"][0]["title"] == "seen a submit"


def test_the_cli_accepts_a_registered_obligation_and_names_the_known_ones(
    throwaway: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    adapter = ["contract", "--adapter", "contracts.reference_client:make_fast_adapter", "--quiet"]
    assert main([*adapter, "--only", "C15"]) == 2
    err = capsys.readouterr().err
    assert "unknown obligation(s) C15" in err and "C1, C2" in err and "C12" in err, err
    _register_c13_c14(throwaway)
    code = main([*adapter, "--only", "C14", *BOUND_FLAGS, "--derandomize"])
    out = capsys.readouterr().out
    assert code == 0 and "C14" in out and "gateway page" in out, out


def test_every_registered_obligation_is_checked_by_default(throwaway: list[str]) -> None:
    assert Settings().only == ()  # "every one": the registry's, not a list kept in the settings
    _register_c13_c14(throwaway)
    assert REGISTRY.resolve(Settings().only) == tuple(REGISTRY) and "C14" in REGISTRY.resolve(())
    with pytest.raises(SettingsError, match=r"unknown obligation\(s\) C15; use IDs C1, .*C14"):
        REGISTRY.resolve(("C1", "C15"))


def test_a_registration_that_no_phase_can_serve_is_refused(throwaway: list[str]) -> None:
    def check(obs: Observation, ctx: Context) -> None:
        return None

    with pytest.raises(ValueError, match="registered twice"):
        obligation("C1", "again", "a second C1", kinds=("success",))(check)
    with pytest.raises(ValueError, match="unknown scenario kind"):
        obligation("C90", "odd", "an unknown kind", kinds=("sucess",))(check)
    with pytest.raises(ValueError, match="names the scenario kinds"):
        obligation("C91", "none", "no kinds")(check)
    with pytest.raises(ValueError, match="names the probes"):
        obligation("C92", "none", "no probes", phase="polling")(check)
    with pytest.raises(ValueError, match="phases are"):
        obligation("C93", "none", "no such phase", phase="later", kinds=("success",))(check)
    assert not {"C90", "C91", "C92", "C93"} & set(REGISTRY)


def test_only_given_empty_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="no obligation given"):
        Settings.make(only=" , ")
