"""The contract kit finds real bugs: the reference client keeps every obligation, and each
deliberately broken client in ``tests/contract_clients`` is caught by the right one.

Runs are cheap: small derandomized budgets and bounds of a few seconds (``contract_clients.BOUNDS``;
the fast tuning of the clients matches them).
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from contract_clients import BOUND_FLAGS, BOUNDS, NO_TIMEOUT_BOUNDS
from contract_clients import FAST as CLIENT
from hypothesis import given, settings

from contracts import REGISTRY, Settings, SettingsError, pytest_contract, run
from contracts.reference_client import make_fast_adapter
from contracts.strategies import Limits, images
from mockserver import running
from mockserver.cli import main

pytest_plugins = ["pytester"]

FAST: dict[str, Any] = {
    "examples": 10,
    "derandomize": True,
    **BOUNDS,
    "poll_min_interval_s": 0.05,
    "shrink_budget_s": 2.0,
    "max_attempts": 4,
}
FAST_FLAGS = [
    "--derandomize",
    *BOUND_FLAGS,
    "--poll-min-interval",
    "0.05",
    "--shrink-budget",
    "2",
    "--max-attempts",
    "4",
    "--quiet",
]

#: client module -> (obligations checked, the ones it must break). The bug is in each docstring.
BROKEN = {
    "swapped_dims": ("C1,C2,C3,C4", {"C1", "C2"}),
    "task_id_path": ("C1,C2,C3,C4", {"C4"}),
    "wrong_signature": ("C1,C2,C3,C4", {"C3"}),
    "default_image_num": ("C1,C2,C3,C4", {"C2"}),
    "jpeg_reencode": ("C1,C2,C3,C4", {"C2"}),
    "url_preferred": ("C1,C2,C3,C4", {"C2"}),
    "ascii_title": ("C1,C2,C3,C4", {"C2"}),
    "downscale_large": ("C2,C4", {"C2"}),
    "retries_everything": ("C5,C6", {"C6"}),
    "gateway_code": ("C5,C6", {"C5"}),
    "no_backoff": ("C5,C6,C7", {"C7"}),
    "retries_forever": ("C5,C6,C7", {"C7"}),
    "string_rescode": ("C4,C8", {"C8"}),
    "strict_model": ("C4,C8", {"C8"}),
    "no_timeout": ("C9", {"C9"}),
    "html_crash": ("C9", {"C9"}),
    "poll_forever": ("C10,C11,C12", {"C10"}),
    "ignores_failed": ("C10,C11,C12", {"C10"}),
    "first_url_only": ("C10,C11,C12", {"C10"}),
    "busy_poll": ("C10,C11,C12", {"C11", "C12"}),
    "hurry_after_error": ("C10,C11,C12", {"C11", "C12"}),
    "query_errors_pending": ("C12", {"C12"}),
    "careless_transport": ("C9", {"C9"}),
    "none_on_error": ("C5,C6", {"C5"}),
    "two_field_bugs": ("C2", {"C2"}),
}


#: Clients with no timeout at all, run with ``NO_TIMEOUT_BOUNDS``.
NO_TIMEOUT = {"no_timeout", "careless_transport"}


def _client(name: str) -> Any:
    return importlib.import_module(f"contract_clients.{name}").make_adapter


@pytest.fixture(scope="module")
def reference_result():  # type: ignore[no-untyped-def]
    return run(make_fast_adapter, **FAST)


def test_reference_client_keeps_every_obligation(reference_result) -> None:  # type: ignore[no-untyped-def]
    statuses = {v.id: v.status for v in reference_result.verdicts}
    assert statuses == dict.fromkeys(REGISTRY, "kept"), reference_result.text()
    assert reference_result.ok and all(v.judged > 0 for v in reference_result.verdicts)


def test_the_report_has_the_documented_json_shape(reference_result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "report.json"
    reference_result.write_json(path)
    report = json.loads(path.read_text(encoding="utf-8"))
    assert [o["id"] for o in report["obligations"]] == list(REGISTRY)
    for item in report["obligations"]:
        assert item["status"] in ("kept", "broken", "not applicable") and "example" in item and item["detail"]


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_broken_client_is_caught_by_the_right_obligation(name: str) -> None:
    only, expected = BROKEN[name]
    result = run(_client(name), **{**FAST, "only": only, **(NO_TIMEOUT_BOUNDS if name in NO_TIMEOUT else {})})
    assert set(result.broken) == expected, result.text()
    for oid in expected:
        verdict = result.verdict(oid)
        assert verdict.example and verdict.client and verdict.detail, result.text()
        assert verdict.requests or oid in ("C9", "C10"), result.text()  # a client may hang before sending


def test_there_are_at_least_twelve_broken_clients_covering_every_obligation() -> None:
    assert len(BROKEN) >= 12
    caught = set().union(*(expected for _, expected in BROKEN.values()))
    assert caught == set(REGISTRY)


def test_an_input_dependent_bug_is_shrunk_to_a_minimal_example() -> None:
    result = run(_client("ascii_title"), **{**FAST, "only": "C2", "shrink_budget_s": 15.0})
    params = result.verdict("C2").example["params"]  # type: ignore[index]
    title = params["productTitle"]
    assert len(title) == 1 and not title.isascii(), params
    assert set(params) == {"imgBase64", "modelNum", "width", "height", "productTitle"}, params


def test_a_dropped_field_is_shown_with_the_smallest_value_that_shows_it() -> None:
    result = run(_client("default_image_num"), **{**FAST, "only": "C2", "shrink_budget_s": 15.0})
    params = result.verdict("C2").example["params"]  # type: ignore[index]
    assert params["imageNum"] == 2 and "productTitle" not in params, params  # the schema's minimum, nothing extra


def test_a_large_image_bug_is_caught_even_when_the_search_draws_none() -> None:
    result = run(_client("downscale_large"), **{**FAST, "only": "C2", "examples": 0})  # the boundary example only
    assert result.broken == ["C2"] and "2999x2999" in result.verdict("C2").detail, result.text()


def test_wait_obligations_are_not_applicable_without_wait() -> None:
    class SubmitOnly:
        def __init__(self, adapter: Any) -> None:
            self.submit = adapter.submit

    result = run(lambda *a: SubmitOnly(make_fast_adapter(*a)), **{**FAST, "only": "C4,C10,C11,C12", "examples": 2})
    assert {v.id: v.status for v in result.verdicts} == {
        "C4": "kept",
        "C10": "not applicable",
        "C11": "not applicable",
        "C12": "not applicable",
    }
    assert "wait" in result.verdict("C10").detail


def test_against_a_running_fake_with_its_key_pair() -> None:
    with running(app_keys={"team-key": "team-secret"}, progression="polls", hang_s=2) as fake:
        result = run(
            make_fast_adapter,
            base_url=fake.url,
            app_key="team-key",
            app_secret="team-secret",
            **{**FAST, "only": "C1,C3,C4,C10", "examples": 3},
        )
    assert result.ok and result.status("C3") == "kept", result.text()


@pytest.mark.parametrize("module", ["requests_adapter", "urllib_adapter"])
def test_the_documented_adapter_examples_keep_every_obligation(module: str) -> None:
    factory = importlib.import_module(f"tests.docs.examples.{module}").make_adapter
    tuning = {"timeout": CLIENT["timeout"][1], **{k: CLIENT[k] for k in ("poll_interval", "poll_timeout")}}
    fast = functools.partial(factory, **tuning)  # the tests' client tuning
    result = run(fast, **FAST)
    assert result.ok, result.text()


@pytest.mark.parametrize("module", ["requests_adapter", "urllib_adapter"])
def test_the_docs_show_the_example_files_verbatim(module: str) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "contracts.md").read_text(encoding="utf-8")
    code = (Path(__file__).resolve().parents[1] / "docs" / "examples" / f"{module}.py").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", docs, re.DOTALL)
    assert code in blocks


# -- the command line ------------------------------------------------------------------------------
def test_cli_exit_1_with_json_and_junit_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    code = main(
        [
            "contract",
            "--adapter",
            "contract_clients.wrong_signature:make_adapter",
            "--only",
            "C3,C4",
            "--examples",
            "2",
            "--report",
            str(report),
            "--junit",
            str(junit),
            *FAST_FLAGS,
        ]
    )
    assert code == 1
    out = capsys.readouterr().out
    assert "C3" in out and "BROKEN" in out and "IncompleteSignature" in out
    verdicts = {o["id"]: o for o in json.loads(report.read_text(encoding="utf-8"))["obligations"]}
    assert verdicts["C3"]["status"] == "broken" and verdicts["C3"]["example"]["params"]["modelNum"]
    assert verdicts["C4"]["status"] == "not applicable"  # every request was refused: C4 cannot be judged
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    assert suite.find("testcase/failure") is not None and suite.find("testcase/skipped") is not None


def test_cli_exit_0_and_progress_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    flags = [f for f in FAST_FLAGS if f != "--quiet"]
    code = main(
        [
            "contract",
            "--adapter",
            "contracts.reference_client:make_fast_adapter",
            "--only",
            "C4,C9",
            "--examples",
            "2",
            *flags,
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.out
    assert "C9 transport probes" in captured.err and "every obligation kept" in captured.out


@pytest.mark.parametrize(
    ("adapter", "message"),
    [
        ("no.such.module:make_adapter", "no module named 'no'"),
        ("contracts.reference_client:no_such_factory", "has no attribute"),
        ("contracts.reference_client", "expected package.module:make_adapter"),
        ("broken_import:make_adapter", "importing broken_import failed: RuntimeError"),
        ("no_submit:make_adapter", "has no submit"),
        ("raising_factory:make_adapter", "factory raised ValueError"),
    ],
)
def test_cli_exit_2_for_an_unusable_adapter(
    adapter: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken_import.py").write_text("raise RuntimeError('boom')\n")
    (tmp_path / "no_submit.py").write_text("def make_adapter(url, key, secret):\n    return object()\n")
    (tmp_path / "raising_factory.py").write_text("def make_adapter(url, key, secret):\n    raise ValueError('no')\n")
    monkeypatch.chdir(tmp_path)
    code = main(["contract", "--adapter", adapter, "--only", "C4", "--examples", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err, err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--only", "C13"], "unknown obligation"),
        (["--report", "/no/such/folder/r.json"], "does not exist"),
        (["--app-key", "k"], "go together"),
        (["--transport-bound", "0"], "transport_bound_s"),
    ],
)
def test_cli_exit_2_for_bad_settings(flags: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["contract", "--adapter", "contracts.reference_client:make_fast_adapter", *flags])
    assert code == 2 and message in capsys.readouterr().err


def test_settings_reject_unknown_names() -> None:
    with pytest.raises(SettingsError, match="unknown setting"):
        Settings.make(exampels=3)


# -- the pytest entry point ----------------------------------------------------------------------
def test_pytest_entry_passes_for_a_good_client_and_fails_with_the_report() -> None:
    options = {**FAST, "only": "C4", "examples": 2}
    pytest_contract(make_fast_adapter, **options)()
    with pytest.raises(pytest.fail.Exception, match="C4 +success +BROKEN"):
        pytest_contract(_client("task_id_path"), **options)()


# -- bgmock verify-provider -----------------------------------------------------------------------
POLL_FAST = ["--poll-interval", "0.05"]


def test_verify_provider_against_the_fake(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with running(app_keys={"k": "s"}, progression="polls") as fake:
        report = tmp_path / "provider.json"
        code = main(
            ["verify-provider", "--base-url", fake.url, "--app-key", "k", "--app-secret", "s", "--report", str(report)]
            + POLL_FAST
        )
    assert code == 0, capsys.readouterr().out
    steps = json.loads(report.read_text(encoding="utf-8"))["steps"]
    assert [s["name"] for s in steps] == ["scene query", "submit", "result query", "invalid submit"]
    assert all(s["status"] == "ok" for s in steps)
    # the report names the path the signed calls really took (the gateway's /rest form)
    assert all(s["request"].startswith("POST /rest/ai/image/") for s in steps), [s["request"] for s in steps]
    query = steps[2]
    assert query["answer"]["data"]["taskStatus"] == "finished", query  # polled until the task ended
    assert "submitted -> running -> finished" in query["notes"][0]
    assert any(n.startswith("result image ") and ": PNG 800x800" in n for n in query["notes"]), query["notes"]


def _stringly(fake_url: str) -> None:
    import urllib.request

    rule = json.dumps({"endpoint": "any", "shape": "string-rescode"}).encode()
    urllib.request.urlopen(urllib.request.Request(fake_url + "/__admin/faults", data=rule))  # noqa: S310


def test_verify_provider_reports_drift(capsys: pytest.CaptureFixture[str]) -> None:
    with running(progression="polls") as fake:
        _stringly(fake.url)
        code = main(["verify-provider", "--base-url", fake.url, *POLL_FAST])
    out = capsys.readouterr().out
    assert code == 1 and "DRIFT" in out and "resCode" in out


def test_verify_provider_reads_the_task_id_of_a_string_rescode_and_checks_the_finished_answer(tmp_path: Path) -> None:
    report = tmp_path / "provider.json"
    with running(progression="polls") as fake:
        _stringly(fake.url)
        assert main(["verify-provider", "--base-url", fake.url, "--report", str(report), *POLL_FAST]) == 1
    steps = {s["name"]: s for s in json.loads(report.read_text(encoding="utf-8"))["steps"]}
    for name in ("scene query", "submit", "result query"):
        assert steps[name]["status"] == "drift", steps[name]
        assert steps[name]["problems"] == ["resCode: the string '200' where the schema documents a number"]
    query = steps["result query"]
    assert query["answer"]["data"]["taskStatus"] == "finished" and "skipped" not in json.dumps(query), query
    assert any(": PNG 800x800" in n for n in query["notes"]), query


def _rewrite(monkeypatch: pytest.MonkeyPatch, change: Any) -> None:
    """The provider's answers pass through ``change(api, answer)`` (drift made to order)."""
    from contracts.provider import Provider

    real = Provider.call

    def call(self: Provider, api: str, body: dict[str, Any]) -> tuple[int, Any]:
        status, answer = real(self, api, body)
        return status, change(api, answer)

    monkeypatch.setattr(Provider, "call", call)


def _finished(api: str, answer: Any) -> Any:
    data = answer.get("data") if isinstance(answer, dict) else None
    return data if api.endswith("/query") and isinstance(data, dict) and data.get("taskStatus") == "finished" else None


def test_verify_provider_finds_drift_only_in_the_finished_answer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(api: str, answer: Any) -> Any:
        data = _finished(api, answer)
        if data:
            data["taskResult"][0]["imageUrlList"] = ",".join(data["taskResult"][0]["imageUrlList"])
        return answer

    _rewrite(monkeypatch, change)
    with running(progression="polls") as fake:
        code = main(["verify-provider", "--base-url", fake.url, *POLL_FAST])
    out = capsys.readouterr().out
    assert code == 1 and "DRIFT  result query" in out and "imageUrlList" in out, out


def test_verify_provider_fetches_a_result_image_and_decodes_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(api: str, answer: Any) -> Any:
        data = _finished(api, answer)
        if data:
            base = data["taskResult"][0]["imageUrlList"][0].split("/__bgmock/")[0]
            data["taskResult"][0]["imageUrlList"] = [base + "/__admin/health"] * 2  # JSON, not an image
        return answer

    _rewrite(monkeypatch, change)
    with running(progression="polls") as fake:
        code = main(["verify-provider", "--base-url", fake.url, *POLL_FAST])
    out = capsys.readouterr().out
    assert code == 1 and "does not decode as an image" in out, out


def test_verify_provider_skips_the_query_without_calling_it_drift(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def change(api: str, answer: Any) -> Any:
        if api.endswith("/scenario") and isinstance(answer, dict) and answer.get("resCode") == 200:
            answer["data"] = {"result": {}}
        return answer

    _rewrite(monkeypatch, change)
    report = tmp_path / "provider.json"
    with running(progression="polls") as fake:
        assert main(["verify-provider", "--base-url", fake.url, "--report", str(report), *POLL_FAST]) == 1
    steps = {s["name"]: s for s in json.loads(report.read_text(encoding="utf-8"))["steps"]}
    assert steps["submit"]["status"] == "drift" and any("taskId" in p for p in steps["submit"]["problems"])
    assert steps["result query"]["status"] == "skipped" and steps["result query"]["problems"] == []


def test_verify_provider_polls_within_its_bound(capsys: pytest.CaptureFixture[str]) -> None:
    with running(task_duration=600) as fake:
        code = main(["verify-provider", "--base-url", fake.url, "--poll-timeout", "0.3", *POLL_FAST])
    out = capsys.readouterr().out
    assert code == 2 and "did not end within --poll-timeout 0.3 s" in out, out


@pytest.mark.parametrize("flag", ["--poll-timeout", "--poll-interval", "--timeout"])
def test_verify_provider_bad_poll_flags_are_usage_errors(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify-provider", "--base-url", "http://127.0.0.1:9", flag, "0"]) == 2
    assert flag in capsys.readouterr().err


def test_verify_provider_bad_keys_is_a_setup_error(capsys: pytest.CaptureFixture[str]) -> None:
    with running(app_keys={"k": "s"}) as fake:
        code = main(["verify-provider", "--base-url", fake.url, "--app-key", "k", "--app-secret", "wrong"])
    assert code == 2 and "IncompleteSignature" in capsys.readouterr().out


def test_verify_provider_bad_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify-provider", "--base-url", "ftp://x"]) == 2
    assert "--base-url 'ftp://x': must start with http:// or https://" in capsys.readouterr().err


# -- the kit's own valid requests stay valid ----------------------------------------------------------
#: Sides of 1 101 pixels only (a BMP row of 1 101 bytes is padded to 1 104) and a byte cap that the
#: unpadded count fills exactly at 1 101 rows: the BMP the search drew broke C1 in CI (2437x1719).
TIGHT = Limits(min_side=1100, max_side=1102, max_image_bytes=4096 + 1101 * 1101)


@settings(max_examples=12, derandomize=True, deadline=None, database=None)
@given(spec=images(TIGHT))
def test_every_image_the_search_draws_fits_the_fake_s_byte_cap(spec: Any) -> None:
    assert len(spec.data) <= TIGHT.max_image_bytes, spec


# -- the admin API: a refusal is said as what to do, never as raw bytes ---------------------------
ADMIN_TOKEN = "admin-token-123"


def test_a_fake_that_wants_an_admin_token_is_told_how_to_give_it(capsys: pytest.CaptureFixture[str]) -> None:
    kit = ["contract", "--adapter", "contracts.reference_client:make_fast_adapter", *FAST_FLAGS]
    with running(admin_token=ADMIN_TOKEN) as fake:
        code = main([*kit, "--base-url", fake.url])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, err
        assert f"the fake at {fake.url} requires an admin token" in err and "--admin-token TOKEN" in err, err
        assert "HTTP 401 Unauthorized: The admin API requires" in err and "b'" not in err and '{"' not in err, err
        code = main([*kit, "--base-url", fake.url, "--admin-token", "wrong-token-456"])
        err = capsys.readouterr().err
        assert code == 2 and "refused the admin token given" in err and "wrong-token-456" not in err, err
        from contracts.fake import Fake, FakeError

        assert Fake(fake.url, admin_token=ADMIN_TOKEN).config()["admin_token"] == "***"  # the right one works
        with pytest.raises(FakeError, match="requires an admin token"):
            Fake(fake.url).reset()  # every admin call, not only the first the kit makes


def test_another_admin_refusal_is_its_code_and_message(capsys: pytest.CaptureFixture[str]) -> None:
    with running() as fake:
        code = main(["contract", "--adapter", "contracts.reference_client:make_fast_adapter", "--base-url",
                     fake.url + "/not-here", *FAST_FLAGS])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "GET /__admin/config: HTTP 404 InvalidApiPath: The specified API path does not exist" in err, err
    assert "is it a bgmock fake?" in err and "b'" not in err, err


def test_the_kit_s_flags_for_a_running_fake_need_its_url(capsys: pytest.CaptureFixture[str]) -> None:
    """The fake the kit starts has its own key pair and no admin token: these flags would be ignored."""
    kit = ["contract", "--adapter", "contracts.reference_client:make_fast_adapter"]
    assert main([*kit, "--admin-token", ADMIN_TOKEN]) == 2
    assert "--admin-token needs --base-url" in capsys.readouterr().err
    assert main([*kit, "--app-key", "k", "--app-secret", "s"]) == 2
    assert "--app-key needs --base-url" in capsys.readouterr().err
    with pytest.raises(SettingsError, match="admin_token: needs base_url"):
        run(make_fast_adapter, admin_token=ADMIN_TOKEN, **FAST)


def test_a_seed_is_not_silently_ignored_by_a_derandomized_search(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")  # derandomized by default
    assert Settings.make(seed=7).derandomize is False  # the seed given wins over CI's default
    assert Settings.make().derandomize is True
    with pytest.raises(SettingsError, match="seed: has no effect with derandomize"):
        Settings.make(seed=7, derandomize=True)


# -- every failure of an obligation is reported, not only the first ------------------------------
def test_every_broken_probe_of_an_obligation_is_reported_everywhere(tmp_path: Path) -> None:
    result = run(_client("careless_transport"), **{**FAST, "only": "C9"})
    verdict = result.verdict("C9")
    titles = [f.title for f in verdict.failures]
    assert "reset: crashed" in titles and "timeout: no timeout" in titles, result.text()
    assert verdict.detail == verdict.failures[0].detail  # the first one stays the headline
    text = result.text()
    assert "reset: crashed" in text and "timeout: no timeout" in text
    result.write_json(tmp_path / "r.json")
    c9 = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["obligations"][0]
    assert [f["title"] for f in c9["failures"]] == titles
    assert all(f["example"]["probe"] and f["client"]["text"] for f in c9["failures"])
    result.write_junit(tmp_path / "j.xml")
    failure = ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase/failure")
    assert failure is not None and "more failure" in (failure.get("message") or "")
    assert "reset: crashed" in (failure.text or "") and "timeout: no timeout" in (failure.text or "")


def test_two_input_bugs_in_one_obligation_are_both_shrunk_and_reported() -> None:
    result = run(_client("two_field_bugs"), **{**FAST, "only": "C2", "shrink_budget_s": 15.0})
    failures = {f.title: f.example["params"] for f in result.verdict("C2").failures if f.example}
    assert set(failures) == {"imageNum dropped", "productTitle changed"}, result.text()
    assert failures["imageNum dropped"]["imageNum"] == 2 and "productTitle" not in failures["imageNum dropped"]
    title = failures["productTitle changed"]["productTitle"]
    assert len(title) == 1 and not title.isascii(), failures


def test_kept_obligations_have_an_empty_failures_list(reference_result) -> None:  # type: ignore[no-untyped-def]
    report = reference_result.as_dict()
    assert all(o["failures"] == [] for o in report["obligations"])
    assert 0 < report["client_s"] <= report["elapsed_s"]  # where the time went: the client's own calls


def test_a_client_returning_none_for_an_error_is_told_so() -> None:
    result = run(_client("none_on_error"), **{**FAST, "only": "C5", "examples": 0})
    details = [f.detail for f in result.verdict("C5").failures]
    assert any(d.startswith("returned None instead of raising Rejected(700)") for d in details), details
    assert not any("task ID" in d.split(":")[0] for d in details), details


# -- a signed fake without keys --------------------------------------------------------------------
def test_a_signed_fake_without_keys_is_a_plain_setup_error(capsys: pytest.CaptureFixture[str]) -> None:
    with running(app_keys={"team-key": "team-secret"}) as fake:
        adapter = ["--adapter", "contracts.reference_client:make_fast_adapter", "--only", "C4", "--quiet"]
        code = main(["contract", *adapter, "--base-url", fake.url])
        err = capsys.readouterr().err
        assert code == 2 and "requires signatures" in err and "--app-key" in err and fake.url in err, err
        assert "MissingParameter" not in err and "Traceback" not in err
        code = main(["contract", *adapter, "--base-url", fake.url, "--app-key", "team-key", "--app-secret", "nope"])
        err = capsys.readouterr().err
    assert code == 2 and "refused the key pair" in err and "IncompleteSignature" in err, err


# -- install hints that work without PyPI ----------------------------------------------------------
HYPOTHESIS_MODULES = (
    "runner", "search", "probing", "session", "calls", "scenarios", "strategies", "observation",
    "checks", "checks.registry", "checks.common", "checks.wire", "checks.answers", "checks.transport", "checks.polling",
)


def _without(monkeypatch: pytest.MonkeyPatch, package: str, *loaded: str) -> None:
    """Make ``package`` look uninstalled and forget modules that imported it (restored after)."""
    import sys

    monkeypatch.setitem(sys.modules, package, None)  # type: ignore[arg-type]
    for name in loaded:
        monkeypatch.delitem(sys.modules, name, raising=False)


def test_the_kit_without_hypothesis_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import contracts

    _without(monkeypatch, "hypothesis", *(f"contracts.{m}" for m in HYPOTHESIS_MODULES))
    code = main(["contract", "--adapter", "contracts.reference_client:make_fast_adapter", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "'hypothesis'" in err and "pip install hypothesis requests" in err, err
    assert 'pip install -e ".[contract]"' in err and "bgmock[" not in err
    with pytest.raises(ModuleNotFoundError, match=r"pip install hypothesis requests"):
        contracts.__getattr__("run")
    with pytest.raises(ModuleNotFoundError, match=r"pip install hypothesis requests"):
        pytest_contract(make_fast_adapter)()


def test_an_adapter_missing_a_package_is_told_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "needs_pkg.py").write_text("import bgmock_no_such_pkg\n")
    monkeypatch.chdir(tmp_path)
    assert main(["contract", "--adapter", "needs_pkg:make_adapter", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "importing needs_pkg failed: no module named 'bgmock_no_such_pkg'" in err, err
    _without(monkeypatch, "requests", "contracts.reference_client")
    assert main(["contract", "--adapter", "contracts.reference_client:make_adapter", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no module named 'requests'" in err and "pip install hypothesis requests" in err, err


def test_the_in_process_mode_without_responses_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    _without(monkeypatch, "responses", "mockserver.testing.inprocess")
    with pytest.raises(ModuleNotFoundError, match=r"pip install responses requests .*pip install -e \"\.\[test\]\""):
        importlib.import_module("mockserver.testing.inprocess")


def test_the_responses_fixture_without_responses_says_how_to_install_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "import sys\nsys.modules['responses'] = None\nsys.modules.pop('mockserver.testing.inprocess', None)\n"
    )
    pytester.makepyfile("def test_it(bgmock_responses):\n    pass\n")
    unused = [a for name in ("schemathesis", "benchmark", "anyio", "pytest_httpserver") for a in ("-p", f"no:{name}")]
    result = pytester.runpytest("-p", "no:cacheprovider", *unused)
    text = result.stdout.str() + result.stderr.str()
    assert "pip install responses requests" in text and "bgmock[" not in text, text
