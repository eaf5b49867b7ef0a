"""A task's states on the test clock and on polls, and every way a task or a query fails.

Nothing here sleeps: fakes run on a manual clock (``helpers.client`` sets ``clock: manual``)
and time moves only through ``POST /__admin/clock``, like a payment provider's test clocks.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver import cli
from mockserver.config import Config, ConfigError
from mockserver.spec import load_spec
from tests.helpers import MISSING, QUERY, client, injected_message, submit, submit_item, tasks

SPEC = load_spec()
QUERY_OK = SPEC.validator("query-response.json")
ERROR_OK = SPEC.validator("common.json#/$defs/businessError")
MESSAGES = {code: entry.message for code, entry in SPEC.errors.items()}

#: A URL item: nothing to decode, so tests that submit many tasks stay fast.
URL_ITEM = submit_item(imgBase64=MISSING, imageFileUrl="https://cdn.example.com/p/mug.jpg")


def new_task(c: Any, *items: dict[str, Any]) -> str:
    answer = submit(c, *(items or (URL_ITEM,)))
    assert answer["success"] is True, answer
    return answer["data"]["result"]["taskId"]


def query(c: Any, task_id: Any, how: str = "get") -> dict[str, Any]:
    if how == "get":
        response = c.get(QUERY, query_string={"taskId": task_id})
    elif how == "json":
        response = c.post(QUERY, json={"taskId": task_id})
    else:
        response = c.post(QUERY, data={"taskId": task_id})
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def status(c: Any, task_id: str) -> str:
    answer = query(c, task_id)
    assert not list(QUERY_OK.iter_errors(answer)), answer
    return answer["data"]["taskStatus"]


def advance(c: Any, seconds: float) -> float:
    response = c.post("/__admin/clock", json={"advance": seconds})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["now"]


# -- time progression ---------------------------------------------------------------------


def test_each_transition_happens_exactly_at_its_declared_time() -> None:
    """duration 4: submitted on [0, 1), running on [1, 4) (from 25 %), finished from 4."""
    c = client(task_duration=4)
    task_id = new_task(c)
    timeline = [(0.0, "submitted"), (0.999, "submitted"), (1.0, "running"), (3.999, "running"), (4.0, "finished")]
    now = 0.0
    for at, expected in timeline:
        advance(c, at - now)
        now = at
        answer = query(c, task_id)["data"]
        assert answer["taskStatus"] == expected, at
        assert answer["taskMessage"] == ("success" if expected == "finished" else expected)
        for item in answer["taskResult"]:
            assert item["taskStatus"] == expected and item["taskMessage"] == answer["taskMessage"]
            assert (item["imageUrlList"] != []) == (expected == "finished")


def test_time_stands_still_on_the_manual_clock() -> None:
    c = client(task_duration=1)
    task_id = new_task(c)
    assert [status(c, task_id) for _ in range(5)] == ["submitted"] * 5
    assert c.get("/__admin/clock").get_json() == {"now": 0.0, "mode": "manual"}


def test_duration_zero_finishes_at_once() -> None:
    c = client(task_duration=0)
    assert status(c, new_task(c)) == "finished"


def test_tasks_submitted_at_different_times_each_keep_their_own_state() -> None:
    c = client(task_duration=10)
    first = new_task(c)
    advance(c, 5)
    second = new_task(c)
    assert (status(c, first), status(c, second)) == ("running", "submitted")
    advance(c, 5)
    assert (status(c, first), status(c, second)) == ("finished", "running")
    advance(c, 5)
    assert (status(c, first), status(c, second)) == ("finished", "finished")


def test_the_real_clock_can_be_advanced_too() -> None:
    """``clock: real`` runs on its own but the admin call still skips ahead: no test waits."""
    c = client(clock="real", task_duration=3600)
    task_id = new_task(c)
    assert status(c, task_id) == "submitted"
    assert advance(c, 3600) >= 3600
    assert status(c, task_id) == "finished"


@pytest.mark.parametrize("body", [{"advance": -1}, {"advance": "5"}, {"advance": True}, {}, [1], {"advance": 1e10}])
def test_clock_refuses_bad_advances(body: Any) -> None:
    c = client()
    answer = c.post("/__admin/clock", json=body).get_json()
    assert answer["resCode"] == 700 and "advance" in answer["resMessage"]
    assert c.get("/__admin/clock").get_json()["now"] == 0.0


@pytest.fixture(scope="module")
def timed() -> Any:
    """One fake for every example (each makes its own task): a fake per example costs more
    than the example."""
    return client(task_duration=100)


@given(steps=st.lists(st.integers(min_value=0, max_value=40_000), min_size=1, max_size=8))
def test_status_is_a_function_of_elapsed_time_and_never_goes_back(timed: Any, steps: list[int]) -> None:
    """Steps in milliseconds (exact on both sides); duration 100 s, running from 25 s."""
    task_id = new_task(timed)
    order = ["submitted", "running", "finished"]
    seen = [status(timed, task_id)]
    elapsed = 0
    for step in steps:
        advance(timed, step / 1000)
        elapsed += step
        seen.append(status(timed, task_id))
        expected = "finished" if elapsed >= 100_000 else "running" if elapsed >= 25_000 else "submitted"
        assert seen[-1] == expected, elapsed
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)


# -- poll progression ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("polls_to_finish", "expected"),
    [
        (1, ["finished", "finished"]),
        (2, ["submitted", "finished", "finished"]),
        (3, ["submitted", "running", "finished", "finished"]),
        (5, ["submitted", "running", "running", "running", "finished", "finished"]),
    ],
)
def test_polls_mode_finishes_on_the_nth_query(polls_to_finish: int, expected: list[str]) -> None:
    c = client(progression="polls", polls_to_finish=polls_to_finish, task_duration=0)
    task_id = new_task(c)
    assert [status(c, task_id) for _ in expected] == expected


def test_polls_mode_ignores_the_clock_and_admin_reads() -> None:
    c = client(progression="polls", polls_to_finish=3)
    task_id = new_task(c)
    advance(c, 10_000)  # far past any duration, inside task_ttl_s
    for _ in range(3):  # neither the admin view nor an image fetch counts as a poll
        assert tasks(c)[0]["taskStatus"] == "submitted"
        assert c.get(f"/__bgmock/results/{task_id}/0/0.png").status_code == 404
    assert status(c, task_id) == "submitted"
    assert tasks(c)[0]["polls"] == 1


@pytest.fixture(scope="module")
def polled() -> Any:
    return client(progression="polls", polls_to_finish=3)


@given(schedule=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=20))
def test_interleaved_polls_of_many_tasks_each_count_their_own(polled: Any, schedule: list[int]) -> None:
    """Five tasks polled in any interleaving: each task's state depends on its own polls only."""
    task_ids = [new_task(polled) for _ in range(5)]
    polls = [0] * 5
    for which in schedule:
        polls[which] += 1
        expected = "submitted" if polls[which] == 1 else "running" if polls[which] == 2 else "finished"
        assert status(polled, task_ids[which]) == expected
    seen = {t["taskId"]: t["polls"] for t in tasks(polled)}
    assert [seen[t] for t in task_ids] == polls


def test_each_query_encoding_counts_as_a_poll() -> None:
    c = client(progression="polls", polls_to_finish=3)
    task_id = new_task(c)
    assert [query(c, task_id, how)["data"]["taskStatus"] for how in ("get", "json", "form")] == [
        "submitted", "running", "finished",
    ]


# -- settings and flags -------------------------------------------------------------------


def _flags(*argv: str) -> Config:
    parser = argparse.ArgumentParser()
    cli._serve_args(parser)
    return cli.build_config(parser.parse_args(list(argv)))


def test_flags_set_duration_and_progression() -> None:
    config = _flags("--task-duration", "2.5", "--progression", "polls", "--polls-to-finish", "5")
    assert (config.task_duration, config.progression, config.polls_to_finish) == (2.5, "polls", 5)
    assert _flags("--task-duration", "0").task_duration == 0


def test_flags_override_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "bgmock.toml"
    path.write_text('task_duration = 9\nprogression = "polls"\npolls_to_finish = 4\nclock = "manual"\n')
    config = _flags("--config", str(path), "--task-duration", "1")
    assert (config.task_duration, config.progression, config.polls_to_finish, config.clock) == (1, "polls", 4, "manual")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--task-duration", "-1"], "argument --task-duration"),  # a flag takes no sign (README, Numbers)
        (["--polls-to-finish", "0"], "polls_to_finish"),
    ],
)
def test_bad_timing_flags_stop_the_fake_with_a_message(argv: list[str], needle: str, capsys: Any) -> None:
    try:
        code = cli.main(["serve", "--port", "0", *argv])
    except SystemExit as exc:  # argparse's usage error
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_unknown_progression_is_refused_by_the_parser(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["serve", "--progression", "sometimes"])
    assert exc.value.code == 2 and "--progression" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="progression"):
        Config.from_mapping({"progression": "sometimes"})


# -- tasks that fail or never finish ------------------------------------------------------


def _timeline(c: Any, task_id: str, duration: float) -> list[str]:
    seen = [status(c, task_id)]
    for step in (duration * 0.5, duration * 0.5, duration * 100):
        advance(c, step)
        seen.append(status(c, task_id))
    return seen


def test_magic_fail_scene_runs_then_fails_with_model_failed() -> None:
    c = client(task_duration=2)
    task_id = new_task(c, {**URL_ITEM, "modelNum": "bgmock-task-fail"})
    assert _timeline(c, task_id, 2) == ["submitted", "running", "failed", "failed"]
    data = query(c, task_id)["data"]
    assert data["taskMessage"] == "model failed"
    assert data["taskResult"][0] == {**data["taskResult"][0], "taskStatus": "failed", "taskMessage": "model failed",
                                     "imageUrlList": [], "sceneTemplate": "bgmock-task-fail"}


def test_magic_stuck_scene_never_finishes() -> None:
    c = client(task_duration=2)
    task_id = new_task(c, {**URL_ITEM, "modelNum": "bgmock-task-stuck"})
    assert _timeline(c, task_id, 2) == ["submitted", "running", "running", "running"]
    advance(c, 80_000)  # most of a day, still inside the default task_ttl_s
    assert status(c, task_id) == "running"


def test_one_magic_item_decides_the_whole_task() -> None:
    c = client(task_duration=0)
    task_id = new_task(c, URL_ITEM, {**URL_ITEM, "modelNum": "bgmock-task-fail"})
    data = query(c, task_id)["data"]
    assert data["taskStatus"] == "failed"
    assert [r["taskStatus"] for r in data["taskResult"]] == ["failed", "failed"]


def test_task_rule_fails_the_next_task_only() -> None:
    c = client(task_duration=0)
    assert c.post("/__admin/faults", json={"endpoint": "task", "outcome": "failed", "times": 1}).status_code == 201
    failed, fine = new_task(c), new_task(c)
    first = query(c, failed)["data"]
    assert (first["taskStatus"], first["taskMessage"]) == ("failed", MESSAGES[801])
    assert status(c, fine) == "finished"
    assert c.get("/__admin/faults").get_json()["faults"] == []  # spent


def test_task_rule_takes_another_code_or_message() -> None:
    c = client(task_duration=0)
    c.post("/__admin/faults", json={"endpoint": "task", "outcome": "failed", "resCode": 1000, "times": 1})
    c.post("/__admin/faults", json={"endpoint": "task", "outcome": "failed", "resMessage": "GPU on fire", "times": 1})
    assert query(c, new_task(c))["data"]["taskMessage"] == MESSAGES[1000]
    assert query(c, new_task(c))["data"]["taskMessage"] == "GPU on fire"


def test_task_rule_matches_by_parameter() -> None:
    c = client(task_duration=0)
    c.post("/__admin/faults", json={"endpoint": "task", "outcome": "stuck", "match": {"modelNum": "mod002"}})
    stuck = new_task(c, {**URL_ITEM, "modelNum": "mod002"})
    fine = new_task(c)
    advance(c, 1000)
    assert (status(c, stuck), status(c, fine)) == ("running", "finished")


def test_task_rule_from_the_config_file() -> None:
    c = client(task_duration=1, faults=[{"endpoint": "task", "outcome": "failed", "everyN": 2}])
    ids = [new_task(c) for _ in range(4)]
    advance(c, 1)
    assert [status(c, t) for t in ids] == ["finished", "failed", "finished", "failed"]


def test_failed_task_in_polls_mode_fails_on_the_nth_poll() -> None:
    c = client(progression="polls", polls_to_finish=3)
    task_id = new_task(c, {**URL_ITEM, "modelNum": "bgmock-task-fail"})
    assert [status(c, task_id) for _ in range(4)] == ["submitted", "running", "failed", "failed"]


def test_task_rules_do_not_touch_submit_or_query_answers() -> None:
    c = client(task_duration=0)
    c.post("/__admin/faults", json={"endpoint": "task", "outcome": "failed"})
    answer = submit(c, URL_ITEM)
    assert answer["success"] is True
    assert query(c, answer["data"]["result"]["taskId"])["success"] is True


# -- errors of the query endpoint ---------------------------------------------------------


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_documented_code_can_be_programmed_on_the_query(code: int) -> None:
    """A rule aimed at one task's queries answers the code, does not count as a poll, and
    leaves other tasks alone."""
    c = client(progression="polls", polls_to_finish=2)
    target, other = new_task(c), new_task(c)
    rule = {"endpoint": "query", "resCode": code, "times": 2, "match": {"taskId": target}}
    assert c.post("/__admin/faults", json=rule).status_code == 201
    assert status(c, other) == "submitted"
    for how in ("get", "json"):
        answer = query(c, target, how)
        assert not list(ERROR_OK.iter_errors(answer)), answer
        assert (answer["resCode"], answer["resMessage"]) == (code, injected_message(code))
    assert [status(c, target), status(c, target)] == ["submitted", "finished"]


def test_submit_rules_leave_queries_alone() -> None:
    c = client(task_duration=0)
    task_id = new_task(c)
    c.post("/__admin/faults", json={"resCode": 500})
    assert submit(c, URL_ITEM)["resCode"] == 500
    assert status(c, task_id) == "finished"


@pytest.mark.parametrize(
    ("task_id", "reason"),
    [
        ("00000000-0000-4000-8000-000000000000", "no such task"),
        ("not-a-task", "UUID"),
        ("713f0cb3f22f490bb3b73684f73bf2d6", "UUID"),
        ("713f0cb3-f22f-490b-b3b7-3684f73bf2d6; DROP TABLE", "UUID"),
        ("", "empty"),
        ("x" * 129, "at most 128"),
    ],
)
@pytest.mark.parametrize("how", ["get", "json", "form"])
def test_unknown_and_malformed_task_ids_answer_700_naming_task_id(task_id: str, reason: str, how: str) -> None:
    c = client()
    new_task(c)
    answer = query(c, task_id, how)
    assert not list(ERROR_OK.iter_errors(answer)), answer
    assert answer["resCode"] == 700
    assert answer["resMessage"].startswith("invalid input: taskId: ") and reason in answer["resMessage"]


@pytest.mark.parametrize(
    "request_args",
    [
        {"method": "GET"}, {"method": "POST", "json": {}}, {"method": "POST", "json": {"taskId": 42}},
        {"method": "POST", "json": {"taskId": None}},
        {"method": "POST", "data": "{not json", "content_type": "application/json"},
    ],
)
def test_missing_or_mistyped_task_id_answers_700(request_args: dict[str, Any]) -> None:
    c = client()
    answer = c.open(QUERY, **request_args).get_json()
    assert answer["resCode"] == 700 and answer["success"] is False
    assert answer["resMessage"].startswith(("invalid input: taskId: ", "invalid input: body: "))


def test_expired_task_answers_700_and_newer_ones_live_on() -> None:
    c = client(task_ttl_s=60, task_duration=0)
    old = new_task(c)
    advance(c, 30)
    young = new_task(c)
    advance(c, 30)
    assert status(c, old) == "finished"  # exactly task_ttl_s old: still kept
    advance(c, 0.001)
    answer = query(c, old)
    assert answer["resCode"] == 700 and "taskId: no such task" in answer["resMessage"]
    assert old in answer["resMessage"]
    assert status(c, young) == "finished"
    assert [t["taskId"] for t in tasks(c)] == [young]


def test_reset_forgets_tasks_and_rewinds_the_clock() -> None:
    c = client(task_duration=10)
    task_id = new_task(c)
    advance(c, 5)
    assert c.post("/__admin/reset").status_code == 200
    assert c.get("/__admin/clock").get_json()["now"] == 0.0
    assert query(c, task_id)["resCode"] == 700


def test_admin_tasks_shows_each_state_and_outcome() -> None:
    c = client(task_duration=4)
    fine = new_task(c)
    failing = new_task(c, {**URL_ITEM, "modelNum": "bgmock-task-fail"})
    stuck = new_task(c, {**URL_ITEM, "modelNum": "bgmock-task-stuck"})
    advance(c, 4)
    listed = {t["taskId"]: t for t in tasks(c)}
    assert [t["taskId"] for t in tasks(c)] == [stuck, failing, fine]  # newest first
    assert {k: (v["taskStatus"], v["outcome"]) for k, v in listed.items()} == {
        fine: ("finished", "finished"), failing: ("failed", "failed"), stuck: ("running", "stuck"),
    }
    assert listed[fine]["age"] == 4 and listed[fine]["sources"] == ["imageFileUrl"]
    assert json.loads(json.dumps(listed))  # plain JSON all the way down
