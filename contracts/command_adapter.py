"""An adapter that drives a client written in any language: a command speaking JSON lines.

``bgmock contract --adapter-cmd 'java -cp build Adapter'`` (or ``command_factory(cmd)`` from
Python) starts the command through the shell, in the current folder, and talks to it over its
stdin/stdout, one JSON object per line each way, one request at a time
(``schemas/adapter-protocol.json``). It is an ordinary :class:`~contracts.adapter.Adapter`
for the runner, so the kit is the same kit whatever the client's language: the replies map
onto the same outcomes a Python adapter raises (``Rejected``, ``TransportError``,
``TaskFailed``, a crash).

What the process itself does wrong is a crash *on that call*: it exits, prints a line that is
not a reply of the protocol, or says nothing until the kit gives up on the call (the runner
calls :meth:`CommandAdapter.abandon`). The message carries the tail of its stderr; the process
is started again (and opened again) before the next call, outside the call's timing, so a
restart does not count against the client's timeouts. Its stderr is kept per call
(:meth:`CommandAdapter.take_log`) so the report shows, for each example, what the client
printed while handling it.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from mockserver.textfile import NotUtf8Error, decode_text

from .adapter import AdapterLoadError, Rejected, TaskFailed, TransportError

#: One reply line at most this long (a client's URLs or a message, not images).
MAX_LINE = 1 << 20
#: Stderr kept per call (lines, each cut to LOG_WIDTH characters), and for a crash message's tail.
LOG_LINES = 200
LOG_WIDTH = 2000
TAIL_LINES = 12
#: Restarts that fail in a row before the kit stops trying (each later call is then a crash at once).
MAX_FAILED_RESTARTS = 3
#: Seconds for ``open`` (a JVM or Node starting) and for ``close`` to be answered.
OPEN_LIMIT_S = 60.0
CLOSE_LIMIT_S = 5.0
#: The longest one call may take when nothing else bounds it (the runner abandons sooner).
CALL_LIMIT_S = 600.0


class AdapterCrashed(Exception):  # noqa: N818 - reads as "the adapter crashed"
    """The adapter process failed on a call (exit, garbage, no reply): a crash of that call."""

    described = True  # the report shows the text as it is (see adapter.describe_exception)


def _validator(name: str) -> Any:
    from mockserver.spec import load_spec

    return load_spec().validator(f"adapter-protocol.json#/$defs/{name}")


class _Process:
    """One running adapter process: a JSON-line request/reply channel plus its stderr."""

    def __init__(self, command: str, cwd: str | None, env: dict[str, str] | None) -> None:
        self.command = command
        try:
            self.proc = subprocess.Popen(  # noqa: S602 - the user's own command, run as they typed it
                command,
                shell=True,
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group: stopping it stops the shell's children too
            )
        except OSError as exc:
            raise AdapterLoadError(f"--adapter-cmd {command!r}: cannot start it: {exc}") from None
        self.lines: queue.Queue[bytes | None] = queue.Queue(maxsize=64)  # a flood blocks the adapter, not memory
        self.log: collections.deque[str] = collections.deque(maxlen=LOG_LINES)
        self.lock = threading.Lock()
        self.call_log: list[str] = []
        self.given_up = False  # the kit stopped waiting for the current call (abandon)
        # Quote this call's stderr in a crash message: when opening, no report will show it.
        self.quote_call_log = False
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(target=self._read_out, args=(self.proc.stdout,), daemon=True).start()
        self.err_reader = threading.Thread(target=self._read_err, args=(self.proc.stderr,), daemon=True)
        self.err_reader.start()

    def _read_out(self, stream: IO[bytes]) -> None:
        with contextlib.suppress(OSError, ValueError):
            while True:
                line = stream.readline(MAX_LINE + 1)
                if not line:
                    break
                self.lines.put(line)
        self.lines.put(None)

    def _read_err(self, stream: IO[bytes]) -> None:
        with contextlib.suppress(OSError, ValueError):
            while raw := stream.readline(LOG_WIDTH * 4):  # bounded: a line with no end cannot fill memory
                text = raw.decode("utf-8", "replace").rstrip("\r\n")[:LOG_WIDTH]
                with self.lock:
                    self.log.append(text)
                    if len(self.call_log) < LOG_LINES:
                        self.call_log.append(text)

    def tail(self) -> str:
        """The last lines of stderr (after the reader caught what a dying process wrote)."""
        if self.proc.poll() is not None:
            self.err_reader.join(0.5)
        with self.lock:
            lines = list(self.log)[-TAIL_LINES:]
        return "\n".join(lines) if lines else "(nothing on stderr)"

    def _see(self) -> str:
        """Where the crash message points for the stderr: the kit's report shows the call's
        stderr under it; the tail is quoted inline when this call printed nothing, and the
        call's own lines when no report will show them (``quote_call_log``: opening)."""
        self.tail()  # waits for the reader when the process is gone
        with self.lock:
            if self.call_log and not self.quote_call_log:
                return " (its stderr for this call is below)"
            lines = (self.call_log or list(self.log))[-TAIL_LINES:]
        if not lines:
            return " (nothing on its stderr)"
        return "; its stderr ended with: " + " | ".join(lines)

    def take_log(self) -> str:
        with self.lock:
            text, self.call_log = "\n".join(self.call_log), []
        return text

    def request(self, message: dict[str, Any], limit: float) -> dict[str, Any]:
        """Send one request line; the reply object, or AdapterCrashed saying what went wrong."""
        op = message.get("op")
        began = time.perf_counter()
        stdin = self.proc.stdin
        assert stdin is not None
        with contextlib.suppress(queue.Empty):
            extra = self.lines.get_nowait()  # printed after the last reply, before this request
            if extra is not None:
                self.stop()
                shown = extra[:200].decode("utf-8", "replace").rstrip()
                raise AdapterCrashed(
                    f"the adapter printed a line nobody asked for before {op}: {shown!r} (one reply per "
                    f"request on stdout; logs go to stderr){self._see()}"
                )
            self.lines.put(None)  # the end of its output: the read below sees it
        with contextlib.suppress(OSError, ValueError):  # a process that is gone: its last words are read below
            stdin.write(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")
            stdin.flush()
        try:
            line = self.lines.get(timeout=limit)
        except queue.Empty:
            self.stop()
            raise AdapterCrashed(
                f"the adapter did not answer {op} within {limit:g} s; it was stopped{self._see()}"
            ) from None
        if line is None:
            if self.given_up:
                raise AdapterCrashed(
                    f"the adapter did not answer {op} within the kit's limit for the call "
                    f"({time.perf_counter() - began:.1f} s); it was stopped{self._see()}"
                )
            self._died(op)
        assert line is not None
        if len(line) > MAX_LINE:
            self.stop()
            raise AdapterCrashed(f"the adapter's reply to {op} is longer than {MAX_LINE} bytes{self._see()}")
        try:
            reply = json.loads(decode_text(line, f"the adapter's reply to {op}", fix="write stdout as UTF-8"))
        except NotUtf8Error as exc:
            self.stop()
            raise AdapterCrashed(f"{exc} (the protocol's lines are UTF-8 JSON){self._see()}") from None
        except ValueError:
            self.stop()
            shown = line[:200].decode("utf-8", "replace").rstrip()
            raise AdapterCrashed(
                f"the adapter answered {op} with a line that is not JSON: {shown!r} (stdout carries only "
                f"the protocol's replies; logs go to stderr){self._see()}"
            ) from None
        return reply

    def _died(self, op: Any) -> None:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        self.stop()
        how = f"exited with code {code}" if code is not None else "closed its stdout"
        raise AdapterCrashed(f"the adapter {how} during {op}{self._see()}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace: float = 0.0) -> None:
        """End the process (and its children): stdin closed, then TERM, then KILL."""
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin:
                self.proc.stdin.close()
        if grace:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        for sig, wait in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 2.0)):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=wait)


class CommandAdapter:
    """The kit's adapter for a command: ``submit`` and ``wait`` sent as protocol lines;
    ``waits`` is the command's answer to ``open`` (whether it drives polling)."""

    def __init__(  # noqa: PLR0913 - a factory's three values, then Popen-like options, keyword-only
        self,
        command: str,
        base_url: str,
        app_key: str,
        app_secret: str,
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        call_limit_s: float = CALL_LIMIT_S,
        open_limit_s: float = OPEN_LIMIT_S,
    ) -> None:
        self.command = command
        self.opening = {"op": "open", "baseUrl": base_url, "appKey": app_key, "appSecret": app_secret}
        self.cwd, self.env = cwd, env
        self.call_limit_s, self.open_limit_s = call_limit_s, open_limit_s
        self.process: _Process | None = None
        self.restarts = 0
        self.failed_restarts = 0  # in a row
        self.pending_log = ""  # stderr of a failed restart, shown with the call it failed
        self.waits = self._open()

    # -- lifecycle ---------------------------------------------------------------------------------
    def _open(self) -> bool:
        """Start the process and open a client; whether it drives polling."""
        process = self.process = _Process(self.command, self.cwd, self.env)
        process.quote_call_log = True  # a failed open ends the run (or a restart) before any report
        try:
            reply = process.request(self.opening, self.open_limit_s)
        except AdapterCrashed as exc:
            process.stop()
            raise AdapterLoadError(f"--adapter-cmd {self.command!r}: {exc}") from None
        problems = _problems("openReply", reply)
        if problems:
            process.stop()
            raise AdapterLoadError(
                f"--adapter-cmd {self.command!r}: its answer to open, {_show(reply)}, is not "
                f'{{"ok": true, "wait": true|false}} ({problems})'
            )
        process.quote_call_log = False
        return bool(reply["wait"])

    def ready(self) -> None:
        """Before a call, outside its timing: start the process again if the last call killed it.

        A restart that fails leaves no process; the call then reports that as its crash."""
        if (self.process is not None and self.process.alive()) or self.failed_restarts >= MAX_FAILED_RESTARTS:
            return
        self.restarts += 1
        try:
            self._open()
        except AdapterLoadError as exc:
            self.process = None
            self.failed_restarts += 1
            self.pending_log = str(exc)
        else:
            self.failed_restarts = 0

    def abandon(self) -> None:
        """The kit gave up on the current call: stop the process, so the call ends as a crash."""
        if self.process is not None:
            self.process.given_up = True
            self.process.stop()

    def take_log(self) -> str:
        """The adapter's stderr since the last call to this (for the report's example)."""
        text = self.process.take_log() if self.process else ""
        if self.pending_log:
            text, self.pending_log = (self.pending_log + "\n" + text).strip(), ""
        return text

    def close(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.alive():
            with contextlib.suppress(AdapterCrashed):
                process.request({"op": "close"}, CLOSE_LIMIT_S)
        process.stop(grace=CLOSE_LIMIT_S)

    # -- calls ---------------------------------------------------------------------------------------
    def _call(self, message: dict[str, Any], reply_def: str) -> dict[str, Any]:
        self.ready()
        if self.process is None:
            given_up = " (the kit stopped trying)" if self.failed_restarts >= MAX_FAILED_RESTARTS else ""
            raise AdapterCrashed(f"the adapter could not be started again{given_up}: {self.take_log()}")
        reply = self.process.request(message, self.call_limit_s)
        problems = _problems(reply_def, reply)
        if problems:
            self.process.stop()
            raise AdapterCrashed(
                f"the adapter answered {message['op']} with {_show(reply)}, which is not a reply of the "
                f"protocol ({problems}){self.process._see()}"
            )
        if "rejected" in reply:
            raise Rejected(reply["rejected"]["code"], reply["rejected"].get("message", ""))
        if "transport" in reply:
            raise TransportError(reply["transport"])
        if "crash" in reply:
            raise ClientCrashed(reply["crash"])
        if "taskFailed" in reply:
            raise TaskFailed(reply["taskFailed"])
        return reply

    def submit(self, params: dict[str, Any]) -> Any:
        return self._call({"op": "submit", "params": params}, "submitReply")["taskId"]

    def wait(self, task_id: str) -> list[list[str]]:
        """Only called when ``waits`` (the adapter answered open with ``"wait": true``)."""
        return self._call({"op": "wait", "taskId": task_id}, "waitReply")["urls"]  # type: ignore[no-any-return]


class ClientCrashed(Exception):  # noqa: N818
    """The adapter reported ``{"crash": ...}``: the client itself crashed (the text is its own)."""

    described = True

    def __init__(self, what: str) -> None:
        super().__init__(f"the client crashed: {what}")


def _problems(name: str, reply: Any) -> str:
    errors = sorted(_validator(name).iter_errors(reply), key=lambda e: list(e.path))
    return "; ".join(e.message[:160] for e in errors[:3])


def _show(value: Any, limit: int = 200) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def command_factory(
    command: str, *, cwd: str | None = None, env: dict[str, str] | None = None, call_limit_s: float = CALL_LIMIT_S
) -> Callable[[str, str, str], CommandAdapter]:
    """A ``make_adapter`` for :func:`contracts.run` and :func:`contracts.pytest_contract` that
    drives ``command`` over the protocol. Its polling is checked (C10-C12) only when the
    command answered ``open`` with ``"wait": true``."""
    if not command.strip():
        raise AdapterLoadError("--adapter-cmd: the command is empty")

    def make_adapter(base_url: str, app_key: str, app_secret: str) -> CommandAdapter:
        return CommandAdapter(command, base_url, app_key, app_secret, cwd=cwd, env=env, call_limit_s=call_limit_s)

    make_adapter.__qualname__ = f"command {command!r}"
    return make_adapter
