"""What a user copies keeps the contract as shipped, bounds are inclusive, every verdict's
title says what the kit saw, and the smoke profile is the full run minus the slow probes.

The first test runs ``bgmock contract`` on each documented adapter at the kit's defaults (it
waits out the adapters' own test timeouts: ~15 s each, mostly sleeping). The title tests
judge hand-made observations, so they need no client and no clock.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from contracts import REGISTRY, Settings, SettingsError, run
from contracts.checks import Context, judge
from contracts.observation import Observation, Outcome
from contracts.scenarios import Catalog
from contracts.settings import BOUND_GRACE_S
from mockserver.cli import main
from mockserver.spec import load_spec

#: Every adapter the docs show or the package ships, as a user names it on the command line.
SHIPPED = ["tests.docs.examples.requests_adapter:make_adapter", "tests.docs.examples.urllib_adapter:make_adapter"]
SHIPPED_ALL = [*SHIPPED, "contracts.reference_client:make_adapter"]


@pytest.mark.slow
@pytest.mark.parametrize("adapter", SHIPPED)
def test_each_documented_adapter_keeps_the_contract_at_the_kits_defaults(
    adapter: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.json"
    code = main(["contract", "--adapter", adapter, "--derandomize", "--quiet", "--report", str(report)])
    assert code == 0, capsys.readouterr().out
    settings = json.loads(report.read_text(encoding="utf-8"))["settings"]
    defaults = Settings(derandomize=True).as_dict()
    assert settings == {**defaults, "only": list(REGISTRY)}  # the default "every one", named in the report


@pytest.mark.parametrize("adapter", SHIPPED_ALL)
def test_the_smoke_profile_passes_every_shipped_adapter(
    adapter: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.json"
    code = main(["contract", "--adapter", adapter, "--profile", "smoke", "--quiet", "--report", str(report)])
    assert code == 0, capsys.readouterr().out
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["settings"]["profile"] == "smoke" and data["settings"]["slow_probes"] is False
    assert all(o["status"] == "kept" and o["judged"] > 0 for o in data["obligations"]), data["obligations"]


def test_a_profile_is_a_preset_that_flags_override() -> None:
    smoke = Settings.make(profile="smoke", examples=30)
    assert smoke.examples == 30 and smoke.codes == (501, 700) and not smoke.slow_probes
    assert Settings.make(profile="smoke", codes="500,1000").codes == (500, 1000)
    assert Settings.make() == Settings()
    with pytest.raises(SettingsError, match="profile: unknown profile 'nightly'; use full or smoke"):
        Settings.make(profile="nightly")
    with pytest.raises(SettingsError, match="codes: 'x' is not a resCode number"):
        Settings.make(codes="501,x")


@pytest.mark.parametrize(("name", "value", "said"), [
    ("call_bound_s", float("nan"), "call_bound_s: must be a finite number (got nan)"),  # NaN passed every `< 0`
    ("poll_bound_s", float("inf"), "poll_bound_s: must be a finite number (got inf)"),
    ("retry_growth", "2", "retry_growth: must be a finite number (got '2')"),  # was a TypeError traceback
    ("examples", 2.5, "examples: must be a whole number (got 2.5)"),
    ("max_attempts", True, "max_attempts: must be a whole number (got True)"),
])
def test_a_kit_setting_that_is_no_usable_number_is_named(name: str, value: object, said: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(said)):
        Settings.make(**{name: value})
    assert Settings.make(**{name: Settings.make().as_dict()[name]}) == Settings()  # its own default is fine


def test_an_undocumented_code_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["contract", "--adapter", SHIPPED[0], "--codes", "501,999", "--quiet"])
    assert code == 2
    assert "codes: 999 not documented; use some of 500, 501, 700" in capsys.readouterr().err


def test_a_timeout_equal_to_the_bound_keeps_c9() -> None:
    from tests.docs.examples.requests_adapter import make_adapter

    def equal(*args: str) -> Any:
        return make_adapter(*args, timeout=1.0)

    result = run(equal, only="C9", transport_bound_s=1.0, derandomize=True)
    assert result.status("C9") == "kept", result.text()


# -- titles: what was seen, judged on hand-made observations -----------------------------------------
@pytest.fixture(scope="module")
def ctx() -> Context:
    spec = load_spec()
    return Context(
        settings=Settings(),
        catalog=Catalog.from_spec(spec.errors),
        signatures=False,
        item_schema=spec.schema("submit-request-item.json"),
        signing_validator=spec.validator("signing-params.json"),
        hang_s=Settings().transport_bound_s + 1,
    )


def _title(oid: str, obs: Observation, ctx: Context) -> str | None:
    verdict = judge(oid, obs, ctx)
    return getattr(verdict, "title", None)


def _hung(after: float, later: Outcome | None = None) -> Outcome:
    return Outcome("hung", elapsed=after, later=later)


@pytest.mark.parametrize(
    ("outcome", "title"),
    [
        (Outcome("transport", message="read timed out", elapsed=10.0), None),
        (Outcome("transport", message="read timed out", elapsed=10.0 + BOUND_GRACE_S), None),
        (
            _hung(10.5, Outcome("transport", message="read timed out", elapsed=10.8)),
            "timeout: timeout longer than the kit's bound of 10 s",
        ),
        (_hung(10.5, Outcome("transport", message="connection reset", elapsed=11.01)), "timeout: no timeout"),
        (_hung(10.5), "timeout: no timeout"),
        (Outcome("crashed", message="ReadTimeout", elapsed=3.0), "timeout: crashed"),
    ],
)
def test_c9_titles_say_what_the_client_did_on_the_timeout_probe(
    outcome: Outcome, title: str | None, ctx: Context
) -> None:
    obs = Observation("transport", outcome, probe="timeout")
    assert _title("C9", obs, ctx) == title


def test_c9_on_another_probe_says_no_result_within_the_bound(ctx: Context) -> None:
    obs = Observation("transport", _hung(10.5, Outcome("transport", elapsed=12.0)), probe="reset")
    assert _title("C9", obs, ctx) == "reset: no result within the kit's bound of 10 s"


@pytest.mark.parametrize(
    ("outcome", "title"),
    [
        (Outcome("transport", message="did not end within 15 s", elapsed=15.2), None),
        (_hung(15.5), "stuck: still polling after the kit's bound of 15 s"),
        (Outcome("returned", value=[["u"]], elapsed=1.0), "stuck: returned a list instead of raising TransportError"),
    ],
)
def test_c10_stuck_titles(outcome: Outcome, title: str | None, ctx: Context) -> None:
    assert _title("C10", Observation("polling", outcome, probe="stuck"), ctx) == title


@pytest.mark.parametrize(
    ("probe", "outcome", "title"),
    [
        ("finishes", _hung(15.5), "finishes: no result within the kit's bound of 15 s"),
        (
            "finishes",
            Outcome("transport", elapsed=1.0),
            "finishes: raised TransportError instead of returning the URLs",
        ),
        ("fails", _hung(15.5), "failed task not reported: no result within the kit's bound of 15 s"),
        (
            "fails",
            Outcome("returned", value=[], elapsed=1.0),
            "failed task not reported: returned a list instead of raising TaskFailed",
        ),
    ],
)
def test_c10_titles_name_what_came_back(probe: str, outcome: Outcome, title: str, ctx: Context) -> None:
    obs = Observation("polling", outcome, probe=probe, expected=[["u"]] if probe == "finishes" else "model failed")
    assert _title("C10", obs, ctx) == title


# -- polling evidence shows the task's state ------------------------------------------------------
def test_polling_evidence_shows_the_task_status_a_client_ignored() -> None:
    from contract_clients import BOUNDS
    from contract_clients.ignores_failed import make_adapter

    result = run(make_adapter, only="C10", poll_bound_s=BOUNDS["poll_bound_s"], derandomize=True)
    verdict = result.verdict("C10")
    assert verdict.status == "broken", result.text()
    failed = next(f for f in verdict.failures if f.example and f.example.get("probe") == "fails")
    answers = [r["answer"] for r in failed.requests or [] if "answer" in r]
    assert any(a.startswith("success (resCode 200, taskId ") and a.endswith("taskStatus failed)") for a in answers)
    assert "taskStatus failed" in result.text()


def test_pytest_contract_takes_a_profile() -> None:
    from contracts import pytest_contract
    from contracts.reference_client import make_fast_adapter

    pytest_contract(make_fast_adapter, profile="smoke", only="C4,C10")()  # passes: no exception
    with pytest.raises(SettingsError, match="unknown profile"):
        pytest_contract(make_fast_adapter, profile="nightly")()


def test_c7_says_the_codes_the_journal_shows_not_the_scenarios(ctx: Context) -> None:
    """A 501 then a 700 (the retry refused for its own fault): "501 on every attempt" was untrue."""
    from contracts.scenarios import Scenario

    submit = "/ai/image/background/generation/scenario"
    entries = [{"path": submit, "endpoint": "submit", "resCode": code, "t": t} for code, t in ((501, 0.0), (700, 0.5))]
    obs = Observation("example", Outcome("rejected", code=700, message="invalid input"), entries=entries,
                      scenario=Scenario("transient", code=501, times=1))
    verdict = judge("C7", obs, ctx)
    assert "resCodes 501, 700 on its 2 attempt(s)" in verdict.reason and "every attempt" not in verdict.reason
