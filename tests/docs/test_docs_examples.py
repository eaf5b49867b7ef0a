"""Every ```sh and ```python block of README.md and docs/*.md runs, so the docs cannot drift.

How each block runs (the conventions are in tests/docs_blocks.py):

- **shell**: each command in a fresh temporary folder, ``localhost:8080`` pointed at a live
  fake: the shared one (``mockserver.running()``: tasks finish at once, as they have by the time
  a person types the next command; reset before each block), or the block's own. A shown
  answer (``# -> {...}``) must match: the real JSON carries every field shown.
- ``bgmock serve FLAGS`` (it never ends by itself): started with ``--port 0 --quiet``; its
  readiness line gives the port the block's later commands use; stopped (SIGTERM, the way a
  CI job stops it) at the next ``bgmock serve`` or the block's end, and it must exit in time.
- ``pip install`` and ``python -m pytest`` are not run (``NOT_RUN_COMMANDS`` says why).
- **python**: in a subprocess, ``localhost:8080`` pointed at the fake; it passes when it exits
  0 (a block shows what it checks with ``assert``).
- ``<!-- not run: reason -->`` blocks are skipped with their reason, ``<!-- example -->``
  blocks are run by tests/docs/examples (test_docs_match.py holds them there word for word);
  ``test_every_block_not_run_here_is_counted`` keeps the count of both, so a new skip is a
  decision someone writes down.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from docs_blocks import (
    NOT_RUN_COMMANDS,
    ROOT,
    Block,
    at_fake,
    commands,
    every_block,
    mismatches,
    parse_shown,
)

import mockserver

BIN = Path(sys.executable).parent
BLOCKS = every_block()
#: Blocks not run by this module: (doc, directive) -> how many. Change it when you add one.
NOT_RUN_HERE = {
    ("docs/contracts.md", "not run"): 7,
    ("docs/load-and-workers.md", "not run"): 1,
    ("docs/pytest-plugin.md", "example"): 9,
    ("README.md", "example"): 3,
    ("README.md", "not run"): 1,
}
#: Commands skipped inside blocks that run: how many per reason (NOT_RUN_COMMANDS).
SKIPPED_COMMANDS = {"pip install": 2, "python -m pytest": 1}
TASK_ID = re.compile(r"<taskId>")
STOP_S = 10.0  # a serve must be gone this long after SIGTERM


@pytest.fixture(scope="module")
def shared() -> Iterator[mockserver.Handle]:
    with mockserver.running() as fake:
        yield fake


class Serve:
    """A ``bgmock serve`` a doc shows, on a free port, stopped when the block moves on."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        args = [a for a in args if a != "--quiet"]
        if "--port" in args:
            at = args.index("--port")
            del args[at : at + 2]
        self.argv = [str(BIN / "bgmock"), "serve", *args, "--port", "0", "--quiet"]
        self.proc = subprocess.Popen(
            self.argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        found = re.search(r"listening on (http://\S+)", line)
        if not found:
            self.proc.kill()
            error = self.proc.communicate()[1][-2000:]
            pytest.fail(f"{' '.join(self.argv)} did not start: {line!r} {error!r}")
        self.url = found.group(1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                pytest.fail(f"{' '.join(self.argv)} did not stop within {STOP_S} s of SIGTERM")
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


def _runnable() -> list[Block]:
    return [b for b in BLOCKS if b.directive in ("", "run against")]


@pytest.mark.parametrize("block", _runnable(), ids=lambda b: b.id)
def test_each_doc_block_runs_and_shows_the_real_answer(block: Block, shared: mockserver.Handle, tmp_path: Path) -> None:
    shared.reset()
    serves: list[Serve] = []
    try:
        if block.directive == "run against":
            argv = shlex.split(block.argument, comments=True)
            assert argv[:2] == ["bgmock", "serve"], f"{block.id}: run against takes a bgmock serve command"
            serves.append(Serve(argv[2:], tmp_path))
        if block.lang == "python":
            _python(block, serves[-1].url if serves else shared.url, tmp_path)
        else:
            _shell(block, shared.url, serves, tmp_path)
    finally:
        for serve in serves:
            serve.stop()


def _python(block: Block, url: str, cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    done = subprocess.run(
        [sys.executable, "-c", at_fake(block.code, url)], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"{block.id}: the block failed:\n{done.stderr[-3000:]}"


def _shell(block: Block, shared_url: str, serves: list[Serve], cwd: Path) -> None:
    task_id = None
    for command in commands(block.code):
        for part in (p.strip() for p in command.text.split(" && ")):
            if any(part.startswith(prefix) for prefix in NOT_RUN_COMMANDS):
                continue
            if part.startswith("bgmock serve"):
                if serves:
                    serves.pop().stop()
                serves.append(Serve(shlex.split(part, comments=True)[2:], cwd))
                continue
            url = serves[-1].url if serves else shared_url
            if TASK_ID.search(part):
                assert task_id, f"{block.id}: {part!r} names <taskId> before any answer carried one"
                part = TASK_ID.sub(task_id, part)
            done = subprocess.run(
                ["bash", "-c", at_fake(part, url)],
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=60,
                env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
            )
            assert done.returncode == 0, f"{block.id}: {part!r} exited {done.returncode}: {done.stderr[-2000:]}"
            answer = _json(done.stdout)
            found = _task_id(answer)
            task_id = found or task_id
            if command.shown is not None:
                assert answer is not None, f"{block.id}: {part!r} shows an answer but printed {done.stdout[:300]!r}"
                problems = mismatches(parse_shown(at_fake(command.shown, url)), answer)
                assert not problems, f"{block.id}: {part!r}: the doc shows {command.shown}\n" + "\n".join(problems)


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _task_id(answer: object) -> str | None:
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), dict):
        return None
    data = answer["data"]
    result = data.get("result")
    found = result.get("taskId") if isinstance(result, dict) else data.get("taskId")
    return found if isinstance(found, str) else None


def test_every_block_not_run_here_is_counted() -> None:
    not_run = [b for b in BLOCKS if b.directive in ("not run", "example")]
    assert all(b.argument for b in not_run if b.directive == "not run"), "a <!-- not run: --> needs its reason"
    counted: dict[tuple[str, str], int] = {}
    for b in not_run:
        counted[(b.doc, b.directive)] = counted.get((b.doc, b.directive), 0) + 1
    assert counted == NOT_RUN_HERE, [f"{b.id} {b.directive}: {b.argument}" for b in not_run]
    skipped: dict[str, int] = {}
    for b in _runnable():
        if b.lang != "sh":
            continue
        for command in commands(b.code):
            for part in command.text.split(" && "):
                for prefix in NOT_RUN_COMMANDS:
                    if part.strip().startswith(prefix):
                        skipped[prefix] = skipped.get(prefix, 0) + 1
    assert skipped == SKIPPED_COMMANDS


def test_the_shown_answer_convention_can_fail() -> None:
    shown = parse_shown('{"data": {"result": {"taskId": "…"}}, "success": true, "resCode": 200, …}')
    good = {"data": {"result": {"taskId": "T1"}}, "success": True, "resCode": 200, "code": "0"}
    assert mismatches(shown, good) == []
    assert mismatches(shown, {**good, "resCode": 700}) == ["resCode: shown 200, got 700"]
    assert mismatches(shown, {"success": True, "resCode": 200}) != []
    listed = parse_shown('{"data": [{"modelNum": "mod001"}, …]}')
    assert mismatches(listed, {"data": [{"modelNum": "mod001", "name": "x"}, {}]}) == []
    assert mismatches(listed, {"data": [{"modelNum": "mod002"}]}) == ["data[0].modelNum: shown 'mod001', got 'mod002'"]
    assert mismatches(parse_shown('["a/…/0.png"]'), ["a/x/0.png", "b"]) != []  # no "…": exactly one item
