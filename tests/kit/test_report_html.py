"""``bgmock contract --html``: the kit's report as one self-contained page (contracts/report_html.py).

The page must carry what the terminal report says (verdicts, every failure, its minimal
example, requests and answers, the client's stderr), show the product image the kit generated
for the example, load nothing from anywhere, and show what clients wrote as text.
"""

from __future__ import annotations

import base64
import html
import io
import re
from html.parser import HTMLParser
from pathlib import Path

from PIL import Image

from contracts import Settings
from contracts.report import Failure, Result, Verdict, terminal
from contracts.report_html import THUMB_SIDE, html_report
from contracts.strategies import ImageSpec
from mockserver.cli import main
from tests.kit.test_contract_kit import FAST_FLAGS

ATTACK = "<script>alert('x')</script><img src=x onerror=alert(1)>"
IMAGE = ImageSpec("PNG", 600, 600, 2)


def _result() -> Result:
    failure = Failure(
        "width changed",
        f"width changed: the caller gave {ATTACK}",
        example={"params": {"imgBase64": repr(IMAGE), "width": 750, "productTitle": ATTACK}, "scenario": "success"},
        requests=[
            {"id": 3, "request": "POST /ai/image/background/generation/scenario", "params": [{"width": 1000}],
             "problems": [ATTACK], "answer": "resCode 700"},
            {"omitted": 2},
        ],
        client={"text": f"raised Rejected(700, {ATTACK!r})", "stderr": f"line one\n{ATTACK}\nlast line"},
    )
    second = Failure("timeout", "no timeout: waited 12 s", example={"probe": "timeout"})
    broken = Verdict.from_failures("C2", "fidelity", "what arrives is what the caller asked for",
                                   [failure, second], judged=4)
    kept = Verdict("C1", "schema", "requests validate", "kept", "held on 9 observation(s)", judged=9)
    na = Verdict("C4", "success", "task IDs", "not applicable", "nothing reached the API")
    return Result([kept, broken, na], Settings(), 1.5, "http://127.0.0.1:1234", notes=[f"a note {ATTACK}"])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parsed(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def test_what_clients_wrote_is_shown_as_text_and_nothing_can_run() -> None:
    page = html_report(_result())
    tags = _parsed(page)
    assert not [t for t, _ in tags.tags if t == "script"]
    assert not [a for t, a in tags.tags if t == "img" and not str(a.get("src")).startswith("data:image/png;base64,")]
    assert not [a for _, a in tags.tags for name in a if name.startswith("on")]  # no event handler attribute
    text = "".join(tags.text)
    assert text.count(ATTACK) >= 5  # detail, example, problems, client text, stderr, note: as text
    assert "default-src 'none'" in page and "http://" not in page.replace("http://127.0.0.1:1234", "")


def test_the_example_shows_the_product_image_the_kit_generated() -> None:
    tags = _parsed(html_report(_result()))
    (src,) = {a["src"] for t, a in tags.tags if t == "img"}  # once per image, the same figure reused
    thumbnail = Image.open(io.BytesIO(base64.b64decode(str(src).split(",", 1)[1])))
    assert thumbnail.size == (THUMB_SIDE, THUMB_SIDE)
    original = Image.open(io.BytesIO(IMAGE.data)).convert("RGB").resize(thumbnail.size)
    # The very picture (the shade found from the byte count), not a placeholder: same colours.
    assert thumbnail.convert("RGB").getpixel((5, 5)) == original.getpixel((5, 5))
    assert thumbnail.convert("RGB").getpixel((120, 120)) == original.getpixel((120, 120))


def test_it_says_what_the_terminal_report_says() -> None:
    result = _result()
    page = html_report(result)
    text = html.unescape(re.sub(r"<[^>]+>", "\n", page))
    for line in terminal(result).splitlines():
        assert line.strip() in text, line  # the terminal report, verbatim, folded at the end
    structured = html.unescape(page.split("<details>")[0])  # and the same facts, laid out
    for fact in ("C1", "C2", "C4", "kept", "BROKEN", "not applicable", "[1/2] width changed", "[2/2] no timeout",
                 "resCode 700", "… 2 more …", "last line", "a note", "result: BROKEN: C2"):
        assert fact in structured, fact


def test_the_cli_writes_it_beside_json_and_junit(tmp_path: Path) -> None:
    report, page = tmp_path / "r.json", tmp_path / "report.html"
    code = main(["contract", "--adapter", "contract_clients.swapped_dims:make_adapter", "--only", "C2",
                 "--examples", "3", "--report", str(report), "--html", str(page), *FAST_FLAGS])
    assert code == 1 and report.exists()
    tags = _parsed(page.read_text(encoding="utf-8"))
    assert "C2 fidelity" in "".join(tags.text) and "BROKEN" in "".join(tags.text)
    assert any(t == "img" for t, _ in tags.tags)  # the swapped 3:4 example's product image


def test_an_unwritable_html_path_is_a_usage_error_before_the_run(tmp_path: Path, capsys) -> None:
    code = main(["contract", "--adapter", "contracts.reference_client:make_fast_adapter",
                 "--html", str(tmp_path / "no" / "such" / "dir" / "r.html")])
    assert code == 2 and "--html" in capsys.readouterr().err
