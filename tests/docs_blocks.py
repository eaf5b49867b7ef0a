"""Reading the ```sh and ```python blocks of README.md and docs/*.md so a test can run them.

The conventions a doc follows (docs/contributing notes in tests/docs/test_docs_examples.py):

- ``<!-- not run: REASON -->`` on the line before a block: the block is not run, for REASON
  (a fragment, a placeholder module such as ``myapp``, the real service);
- ``<!-- example -->`` before a python block: a test of tests/docs/examples/ holds it word for word
  (tests/docs/examples/test_docs_match.py), and pytest runs it there;
- ``<!-- run against: bgmock serve FLAGS -->`` before a block: the block's calls go to a fake
  started with those flags instead of the shared one;
- in a shell block, ``# -> JSON`` after a command (on its line or the lines below, an open
  bracket continuing on ``#`` lines) is the answer: the real answer must carry every field
  shown, ``…`` (or ``...``) standing for anything (other fields, more list items, part of a
  string);
- ``<taskId>`` in a command is the task ID of the last answer in the block that carried one;
- ``localhost:8080`` (or ``127.0.0.1:8080``) is where the fake is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")))
FENCE = re.compile(r"^```(\w*)\s*$")
DIRECTIVE = re.compile(r"^<!--\s*(not run|example|run against)\s*:?\s*(.*?)\s*-->$")
FAKE_ADDRESS = re.compile(r"(?:http://)?(?:localhost|127\.0\.0\.1):8080")
#: Commands a doc shows that no test may run, and why (each use is counted).
NOT_RUN_COMMANDS = {
    "pip install": "installs packages: the suite runs in the project already installed",
    "python -m pytest": "runs the whole suite, which this test is part of",
}


@dataclass
class Block:
    doc: str
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    directive: str = ""  # "not run", "example", "run against" or ""
    argument: str = ""  # the reason, or the serve command

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def blocks(doc: str) -> list[Block]:
    """The sh and python blocks of one doc, with the directive on the line before each."""
    lines = (ROOT / doc).read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
        if match.group(1) in ("sh", "python"):
            before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            found = DIRECTIVE.match(before)
            block = Block(doc, i + 1, match.group(1), "\n".join(lines[i + 1 : end]) + "\n")
            if found:
                block.directive, block.argument = found.group(1), found.group(2)
            out.append(block)
        i = end + 1
    return out


def every_block() -> list[Block]:
    return [b for doc in DOCS for b in blocks(doc)]


# -- shell blocks: commands and the answers they show ------------------------------------------
@dataclass
class Command:
    text: str
    shown: str | None = None  # the "# -> ..." answer, as written


def commands(code: str) -> list[Command]:
    """A shell block's commands (continuation lines joined), each with the answer it shows."""
    out: list[Command] = []
    pending = ""
    open_shown: Command | None = None
    for raw in code.splitlines():
        line = raw.strip()
        if open_shown is not None and line.startswith("#"):
            open_shown.shown = (open_shown.shown or "") + " " + line[1:].strip()
            if _balanced(open_shown.shown):
                open_shown = None
            continue
        open_shown = None
        if line.startswith("# ->"):
            if out:
                out[-1].shown = line[4:].strip()
                open_shown = None if _balanced(out[-1].shown) else out[-1]
            continue
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = pending + line
        pending = ""
        command, _, shown = text.partition("# ->")
        out.append(Command(command.strip(), shown.strip() or None))
        if shown and not _balanced(shown):
            open_shown = out[-1]
    return out


def _balanced(text: str) -> bool:
    depth = 0
    for token in _tokens(text):
        if token in ("{", "["):
            depth += 1
        elif token in ("}", "]"):
            depth -= 1
    return depth <= 0


# -- "# -> JSON with …": parsing and matching ---------------------------------------------------
ANY = object()  # "…" where a value stands


@dataclass
class Shown:
    """A list as shown: its items, and whether ``…`` says there may be more."""

    items: list[Any] = field(default_factory=list)
    more: bool = False


_TOKEN = re.compile(r'\s*("(?:\\.|[^"\\])*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|[{}\[\]:,]|…|\.\.\.)')


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise ValueError(f"cannot read the shown answer at {text[pos : pos + 30]!r}")
        out.append(match.group(1))
        pos = match.end()
    return out


def parse_shown(text: str) -> Any:
    """The answer a doc shows, as values to match (``ANY``, ``Shown`` lists, patterns in strings)."""
    tokens = _tokens(text)
    value, rest = _value(tokens)
    if rest:
        raise ValueError(f"text after the shown answer: {' '.join(rest)!r}")
    return value


def _value(tokens: list[str]) -> tuple[Any, list[str]]:
    head, rest = tokens[0], tokens[1:]
    if head in ("…", "..."):
        return ANY, rest
    if head == "{":
        return _object(rest)
    if head == "[":
        return _list(rest)
    return json.loads(head), rest


def _object(rest: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The fields of a shown object up to its ``}`` (an ellipsis among them is skipped)."""
    out: dict[str, Any] = {}
    while rest[0] != "}":
        if rest[0] in ("…", "..."):
            rest = rest[1:]
        else:
            key, value_tokens = json.loads(rest[0]), rest[2:]
            if rest[1] != ":":
                raise ValueError(f"expected ':' after {rest[0]}")
            out[key], rest = _value(value_tokens)
        if rest[0] == ",":
            rest = rest[1:]
    return out, rest[1:]


def _list(rest: list[str]) -> tuple[Shown, list[str]]:
    """The items of a shown list up to its ``]``; an ellipsis among them means "and more"."""
    shown = Shown()
    while rest[0] != "]":
        if rest[0] in ("…", "..."):
            shown.more, rest = True, rest[1:]
        else:
            item, rest = _value(rest)
            shown.items.append(item)
        if rest[0] == ",":
            rest = rest[1:]
    return shown, rest[1:]


def mismatches(shown: Any, actual: Any, path: str = "") -> list[str]:
    """Where ``actual`` lacks what ``shown`` shows (empty: it carries every field shown)."""
    where = path or "the answer"
    if shown is ANY:
        return []
    if isinstance(shown, dict):
        return _object_mismatches(shown, actual, path)
    if isinstance(shown, Shown):
        return _list_mismatches(shown, actual, path)
    if isinstance(shown, str) and ("…" in shown or "..." in shown):
        return _pattern_mismatches(shown, actual, where)
    if shown != actual or isinstance(shown, bool) != isinstance(actual, bool):
        return [f"{where}: shown {shown!r}, got {actual!r}"]
    return []


def _pattern_mismatches(shown: str, actual: Any, where: str) -> list[str]:
    """A shown string with an ellipsis: any text stands where the ellipsis is."""
    pattern = ".*".join(re.escape(part) for part in re.split(r"…|\.\.\.", shown))
    if isinstance(actual, str) and re.fullmatch(pattern, actual, re.DOTALL):
        return []
    return [f"{where}: shown {shown!r}, got {actual!r}"]


def _object_mismatches(shown: dict[str, Any], actual: Any, path: str) -> list[str]:
    """Every field shown is there, with what it shows; fields not shown may be there too."""
    where = path or "the answer"
    if not isinstance(actual, dict):
        return [f"{where}: shown an object, got {actual!r}"]
    out = []
    for key, value in shown.items():
        if key not in actual:
            out.append(f"{where}: no field {key!r} (fields: {', '.join(actual)})")
        else:
            out += mismatches(value, actual[key], f"{path}.{key}" if path else key)
    return out


def _list_mismatches(shown: Shown, actual: Any, path: str) -> list[str]:
    """The items shown, in order; more of them only when the list shows an ellipsis."""
    where = path or "the answer"
    if not isinstance(actual, list):
        return [f"{where}: shown a list, got {actual!r}"]
    if len(actual) < len(shown.items) or (not shown.more and len(actual) != len(shown.items)):
        return [f"{where}: shown {len(shown.items)} item(s){' or more' if shown.more else ''}, got {len(actual)}"]
    return [m for n, item in enumerate(shown.items) for m in mismatches(item, actual[n], f"{path}[{n}]")]


def at_fake(text: str, base_url: str) -> str:
    """The doc's ``localhost:8080`` pointed at ``base_url`` (``http://127.0.0.1:PORT``)."""
    host = base_url.removeprefix("http://")
    return FAKE_ADDRESS.sub(lambda m: ("http://" if m.group(0).startswith("http://") else "") + host, text)
