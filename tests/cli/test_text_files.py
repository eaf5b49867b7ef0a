"""Text a user hands bgmock (mockserver/textfile.py): UTF-8, a UTF-8 byte-order mark accepted,
anything else one line naming the input, what it is instead when that can be told, and the fix.

The sites that use it (config files, catalogs, PEM files, the plugin, adapter replies) are
tested where they live; here the wording of each case, and a guard that no new reading of a
user's file bypasses the helper.
"""

from __future__ import annotations

import ast
import codecs
from pathlib import Path

import pytest

from mockserver.textfile import NotUtf8Error, decode_text, read_text

ROOT = Path(__file__).resolve().parents[2]

CASES = [
    # bytes, what the message says after "is not UTF-8 text"
    ('{"a": 1}'.encode("utf-16"), ": it is UTF-16 (it starts with the byte-order mark FF FE, as PowerShell 5's >"),
    (codecs.BOM_UTF16_BE + '{"a": 1}'.encode("utf-16-be"), ": it is UTF-16 (it starts with the byte-order mark FE FF"),
    ('{"a": 1}'.encode("utf-32"), ": it is UTF-32 (it starts with that encoding's byte-order mark)"),
    ('{"a": "\u00e9"}'.encode("utf-16-le"), " (it holds NUL bytes, as UTF-16 text without a byte-order mark does)"),
    # ASCII alone as UTF-16 without a mark is valid UTF-8, NULs and all: caught after decoding
    ('{"port": 9}'.encode("utf-16-le"), " (it holds NUL bytes, as UTF-16 text without a byte-order mark does)"),
    (b'{\n"a": "caf\xe9"}', " (byte 0xE9 on line 2, offset 11: invalid continuation byte)"),
    (b"\xef\xbb\xbf\xff", " (byte 0xFF on line 1, offset 3: invalid start byte)"),
]


@pytest.mark.parametrize(("data", "says"), CASES)
def test_bytes_that_are_not_utf8_are_one_line_naming_the_input_and_the_fix(data: bytes, says: str) -> None:
    with pytest.raises(NotUtf8Error) as info:
        decode_text(data, "config file x.json")
    assert str(info.value).startswith(f"config file x.json is not UTF-8 text{says}")
    assert str(info.value).endswith("; save it as UTF-8")
    assert "\n" not in str(info.value)


def test_utf8_with_or_without_a_byte_order_mark_is_the_same_text(tmp_path: Path) -> None:
    plain, marked = tmp_path / "plain.json", tmp_path / "marked.json"
    plain.write_bytes('{"a": "é"}'.encode())
    marked.write_bytes('{"a": "é"}'.encode("utf-8-sig"))
    assert read_text(plain, "x") == read_text(marked, "x") == '{"a": "é"}'


def test_a_missing_file_is_the_callers_oserror_to_word(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_text(tmp_path / "nowhere.json", "config file nowhere.json")


#: Files bgmock itself ships (schemas, the Lua script), read as UTF-8 text without the helper.
SHIPPED = {"mockserver/spec.py", "mockserver/storage/redis_unit.py"}


def _text_reads(path: Path) -> list[str]:
    """Every way of reading a file as text without ``errors=``: ``read_text``; ``open``,
    ``io.open``, ``codecs.open`` and ``Path.open`` in a text mode for reading; and
    ``….read_bytes().decode(…)``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        keywords = {k.arg for k in node.keywords}
        func, where = node.func, f"{path.relative_to(ROOT)}:{node.lineno}"
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name == "read_text" and isinstance(func, ast.Attribute) and "errors" not in keywords:
            found.append(f"{where}: read_text")
        elif name == "open" and "errors" not in keywords and not _binary_opener(func):
            # open(file, mode) and io.open/codecs.open(file, mode); Path.open(mode)
            first = 0 if isinstance(func, ast.Attribute) and not _module(func.value) else 1
            given = [*node.args[first:first + 1], *(k.value for k in node.keywords if k.arg == "mode")]
            mode = given[0] if given else None
            text = mode.value if isinstance(mode, ast.Constant) and isinstance(mode.value, str) else "r"
            if "b" not in text and "r" in text:
                found.append(f"{where}: open")
        elif (name == "decode" and "errors" not in keywords and len(node.args) < 2 and isinstance(func, ast.Attribute)
              and isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Attribute)
              and func.value.func.attr == "read_bytes"):
            found.append(f"{where}: read_bytes().decode")
    return found


def _binary_opener(func: ast.expr) -> bool:
    """``os.open`` (a descriptor) and Pillow's ``Image.open`` read no text."""
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in {"os", "Image"}


def _module(node: ast.expr) -> bool:
    """``io`` or ``codecs``: their ``open`` takes the file first, as the built-in does."""
    return isinstance(node, ast.Name) and node.id in {"io", "codecs"}


def test_the_guard_sees_every_way_of_reading_text() -> None:
    """The guard itself: each form below is a read of a user's text it must name."""
    sample = ROOT / "tests" / "cli" / "_guard_sample.py"
    sample.write_text(
        "import codecs, io\n"
        "from pathlib import Path\n"
        "p = Path('x')\n"
        "open('x')\n"
        "open('x', 'rb')\n"  # bytes: fine
        "io.open('x', 'r')\n"
        "codecs.open('x', encoding='utf-8')\n"
        "p.open()\n"
        "import os\nos.open('x', os.O_RDONLY)\n"  # a descriptor: fine
        "p.open('rb')\n"  # bytes: fine
        "p.open('r', errors='strict')\n"  # errors named: a deliberate choice
        "p.read_text(encoding='utf-8')\n"
        "p.read_bytes().decode('utf-8')\n"
        "p.read_bytes().decode('utf-8', 'replace')\n",  # errors given: fine
        encoding="utf-8",
    )
    try:
        kinds = [hit.split(": ", 1)[1] for hit in _text_reads(sample)]
    finally:
        sample.unlink()
    assert sorted(kinds) == sorted(["open", "open", "open", "open", "read_text", "read_bytes().decode"])


def test_every_text_file_bgmock_reads_is_read_through_the_helper() -> None:
    sources = [p for folder in ("mockserver", "contracts") for p in sorted((ROOT / folder).rglob("*.py"))]
    reads = [hit for p in sources if str(p.relative_to(ROOT)) not in SHIPPED for hit in _text_reads(p)]
    assert reads == [], "read a user's text with mockserver.textfile.read_text (a clear line for bytes that are " \
                        f"not UTF-8), or list a shipped file in SHIPPED: {reads}"
