"""The verdicts, and the three ways to show them: terminal (with progress while the kit runs),
JSON (``--report``) and JUnit XML (``--junit``)."""

from __future__ import annotations

import json
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .settings import Settings


@dataclass
class Failure:
    """One way an obligation broke: its kind in a few words (``title``), the reason, the
    minimal input that shows it, what crossed the wire and what the client did."""

    title: str
    detail: str  # "title: reason"
    example: dict[str, Any] | None = None  # the minimal failing input and what the fake was told
    requests: list[dict[str, Any]] | None = None  # what the client sent and what the fake answered
    client: dict[str, Any] | None = None  # what the client did

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "detail": self.detail,
            "example": self.example,
            "requests": self.requests,
            "client": self.client,
        }


@dataclass
class Verdict:
    """One obligation's result: ``kept``, ``broken`` (with the evidence of every failure found,
    the first one also in ``detail``/``example``/``requests``/``client``) or ``not applicable``."""

    id: str
    title: str
    summary: str
    status: str
    detail: str
    example: dict[str, Any] | None = None  # the first failure's minimal failing input
    requests: list[dict[str, Any]] | None = None  # the first failure's requests and answers
    client: dict[str, Any] | None = None  # what the client did in the first failure
    judged: int = 0
    failures: list[Failure] = field(default_factory=list)  # every distinct failure, first one first

    @classmethod
    def from_failures(cls, id: str, title: str, summary: str, failures: list[Failure], judged: int) -> Verdict:
        """A broken verdict whose headline fields are its first failure's."""
        first = failures[0]
        return cls(
            id,
            title,
            summary,
            "broken",
            first.detail,
            example=first.example,
            requests=first.requests,
            client=first.client,
            judged=judged,
            failures=list(failures),
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "example": self.example,
            "summary": self.summary,
            "judged": self.judged,
        }
        if self.status == "broken":
            out["requests"] = self.requests
            out["client"] = self.client
        out["failures"] = [f.as_dict() for f in self.failures]
        return out


@dataclass
class Result:
    verdicts: list[Verdict]
    settings: Settings
    elapsed: float
    base_url: str
    notes: list[str] = field(default_factory=list)
    client_elapsed: float = 0.0  # of ``elapsed``, the seconds spent in (or waiting for) the adapter's calls

    @property
    def ok(self) -> bool:
        return not any(v.status == "broken" for v in self.verdicts)

    @property
    def broken(self) -> list[str]:
        return [v.id for v in self.verdicts if v.status == "broken"]

    def status(self, obligation_id: str) -> str:
        return next(v.status for v in self.verdicts if v.id == obligation_id)

    def verdict(self, obligation_id: str) -> Verdict:
        return next(v for v in self.verdicts if v.id == obligation_id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tool": "bgmock contract",
            "ok": self.ok,
            "elapsed_s": round(self.elapsed, 3),
            "client_s": round(self.client_elapsed, 3),
            "baseUrl": self.base_url,
            "settings": self.settings.as_dict(),
            "obligations": [v.as_dict() for v in self.verdicts],
            "notes": self.notes,
        }

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(
            json.dumps(self.as_dict(), indent=2, ensure_ascii=False, default=repr) + "\n", encoding="utf-8"
        )

    def write_junit(self, path: str | Path) -> None:
        Path(path).write_bytes(junit_xml(self))

    def text(self) -> str:
        return terminal(self)


def junit_xml(result: Result) -> bytes:
    """One test case per obligation: broken is a failure (its text lists every failure found),
    not applicable is skipped."""
    failures = sum(v.status == "broken" for v in result.verdicts)
    skipped = sum(v.status == "not applicable" for v in result.verdicts)
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="bgmock.contract",
        tests=str(len(result.verdicts)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{result.elapsed:.3f}",
    )
    for v in result.verdicts:
        case = ET.SubElement(suite, "testcase", classname="bgmock.contract", name=f"{v.id} {v.title}", time="0")
        if v.status == "broken":
            more = len(v.failures) - 1
            message = v.detail + (f" (and {more} more failure{'s' * (more > 1)})" if more > 0 else "")
            failure = ET.SubElement(case, "failure", message=message, type="ObligationBroken")
            failure.text = _details(v)
        elif v.status == "not applicable":
            ET.SubElement(case, "skipped", message=v.detail)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


def _failures(v: Verdict) -> list[Failure]:
    """A broken verdict's failures (one made from its headline fields when built without them)."""
    return v.failures or [Failure(v.detail, v.detail, v.example, v.requests, v.client)]


def _evidence(f: Failure) -> list[str]:
    lines = []
    if f.example:
        lines.append("minimal example:")
        lines += [f"  {k}: {json.dumps(val, ensure_ascii=False, default=repr)}" for k, val in f.example.items()]
    if f.requests:
        lines.append("requests the client sent, and the fake's answers:")
        for r in f.requests:
            if "omitted" in r:
                lines.append(f"  ... {r['omitted']} more ...")
                continue
            extra = "".join(
                f" {k}={json.dumps(r[k], ensure_ascii=False, default=repr)}"
                for k in ("params", "problems", "signing")
                if k in r
            )
            lines.append(f"  #{r['id']} {r['request']}{extra}")
            lines.append(f"      -> {r['answer']}")
    if f.client:
        lines.append(f"the client: {f.client.get('text')}")
        if f.client.get("stderr"):
            lines.append("the adapter's stderr during this call:")
            lines.extend(f"  | {line}" for line in str(f.client["stderr"]).splitlines()[-20:])
    return lines


def _details(v: Verdict) -> str:
    """Every failure of a broken obligation with its evidence (one block per failure)."""
    failures = _failures(v)
    if len(failures) == 1:
        return "\n".join([f"{v.id} {v.title}: {failures[0].detail}", *_evidence(failures[0])])
    lines = [f"{v.id} {v.title}: {len(failures)} failures"]
    for n, f in enumerate(failures, 1):
        lines += ["", f"[{n}/{len(failures)}] {f.detail}", *_evidence(f)]
    return "\n".join(lines)


def terminal(result: Result) -> str:
    """A table of verdicts, then the evidence for each broken obligation (every failure)."""
    counts = {s: sum(v.status == s for v in result.verdicts) for s in ("broken", "kept", "not applicable")}
    head = (
        f"bgmock contract: {len(result.verdicts)} obligation(s): {counts['kept']} kept, {counts['broken']} broken, "
        f"{counts['not applicable']} not applicable ({result.elapsed:.1f} s, {result.client_elapsed:.1f} s of it in "
        f"the client's calls; fake at {result.base_url})"
    )
    lines = [head, ""]
    for v in result.verdicts:
        status = "BROKEN" if v.status == "broken" else v.status
        detail = v.detail
        if v.status == "broken" and len(v.failures) > 1:
            detail = f"{len(v.failures)} failures: " + "; ".join(f.title for f in v.failures)
        lines.append(f"  {v.id:<4} {v.title:<15} {status:<15} {_clip(detail, 110)}")
    for v in result.verdicts:
        if v.status == "broken":
            lines += ["", "-" * 80, _details(v)]
    if result.notes:
        lines += ["", *[f"note: {n}" for n in result.notes]]
    lines += ["", "result: " + ("every obligation kept" if result.ok else f"BROKEN: {', '.join(result.broken)}")]
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Progress:
    """Progress on the terminal (stderr) while the kit runs: one line per phase, updated in
    place on a TTY, every tenth of the way otherwise."""

    def __init__(self, stream: IO[str] | None = None, *, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._name = ""
        self._total = 0
        self._began = 0.0
        self._shown = -1

    def _write(self, text: str, *, end: str = "\n") -> None:
        if self.enabled:
            self.stream.write(text + end)
            self.stream.flush()

    def start(self, base_url: str, settings: Settings) -> None:
        self._write(
            f"bgmock contract: checking {', '.join(settings.only)} against the fake at {base_url} "
            f"({settings.examples} examples, profile {settings.profile})"
        )

    def phase(self, name: str, total: int) -> None:
        self._name, self._total, self._began, self._shown = name, total, time.perf_counter(), -1
        if not self.tty:
            self._write(f"  {name}: {total} to run")

    def tick(self, done: int, note: str = "") -> None:
        took = time.perf_counter() - self._began
        line = f"  {self._name}: {done}/{self._total}{' ' + note if note else ''} ({took:.1f} s)"
        if self.tty:
            self._write("\r\033[K" + line, end="")
            return
        step = max(1, self._total // 10)
        if done // step != self._shown or note.endswith("broken"):
            self._shown = done // step
            self._write(line)

    def phase_done(self) -> None:
        took = time.perf_counter() - self._began
        if self.tty:
            self._write("\r\033[K" + f"  {self._name}: done ({took:.1f} s)")
        else:
            self._write(f"  {self._name}: done ({took:.1f} s)")

    def done(self, result: Result) -> None:
        self._write(f"bgmock contract: finished in {result.elapsed:.1f} s")
