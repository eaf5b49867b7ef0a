"""The contract kit's report as one self-contained HTML page (``bgmock contract --html FILE``).

For CI artifacts: the same verdicts and evidence as the terminal report (which the page also
carries verbatim, folded, at its end), each failure's minimal example with the product image
the kit generated for it shown (drawn again from its description: the kit's images are
deterministic), the requests and answers, the client's stderr. No script, no external
resource: inline CSS and ``data:`` images only, so the file opens anywhere, offline.

Everything shown comes from the client and the wire (titles, stderr, messages): it is escaped
(``html.escape``) on the way in, in one place (``_t``), never written raw.
"""

from __future__ import annotations

import base64
import io
import json
import re
from html import escape
from pathlib import Path
from typing import Any

from .report import Failure, Result, Verdict, _failures, terminal

#: How ``ImageSpec.__repr__`` describes a generated image in an example.
_IMAGE = re.compile(r"^<(PNG|JPEG|WEBP|BMP) (\d{1,4})x(\d{1,4}), (\d+) bytes as base64>$")
#: Bounds: thumbnails per report (a report of many failures stays small) and their side.
MAX_IMAGES = 40
THUMB_SIDE = 240
STDERR_LINES = 60

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:14px 20px}header h1{margin:0;font-size:19px}
header p{margin:4px 0 0;color:#c9d2e3}main{padding:14px 20px;max-width:1200px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e7}
th,td{text-align:left;padding:5px 9px;border-bottom:1px solid #dde1e7;vertical-align:top}
th{font-size:12px;color:#667085;background:#fafbfc}
.s{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;white-space:nowrap}
.kept{background:#dcf5e3;color:#1a7f37}.broken{background:#fde3e0;color:#c0362c}.na{background:#eef0f3;color:#667085}
section.ob{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:12px 14px;margin:14px 0}
section.ob h2{margin:0 0 6px;font-size:16px}.failure{border-top:1px solid #dde1e7;margin-top:10px;padding-top:8px}
h3{font-size:12px;text-transform:uppercase;letter-spacing:.4px;color:#667085;margin:10px 0 4px}
pre{background:#f1f3f6;border:1px solid #dde1e7;border-radius:6px;padding:8px;white-space:pre-wrap;
word-break:break-word;font:12px ui-monospace,Menlo,Consolas,monospace;margin:0}
figure{display:inline-block;margin:0 10px 6px 0}figure img{max-width:240px;border:1px solid #dde1e7;
background:repeating-conic-gradient(#eee 0 25%,#fff 0 50%) 0 0/16px 16px}
figcaption{font-size:11px;color:#667085}.req{margin:4px 0}.ans{color:#667085}
.result{font-weight:600;margin:14px 0}.result.bad{color:#c0362c}.result.ok{color:#1a7f37}
"""


def _t(value: Any) -> str:
    """Any value as escaped text (strings as they are, the rest as compact JSON)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)
    return escape(text, quote=True)


def _pretty(value: Any) -> str:
    return escape(json.dumps(value, ensure_ascii=False, indent=2, default=repr))


def _status(status: str) -> str:
    kind = {"kept": "kept", "broken": "broken"}.get(status, "na")
    return f'<span class="s {kind}">{_t("BROKEN" if status == "broken" else status)}</span>'


class _Images:
    """The generated product images named in examples, drawn again and shown as thumbnails."""

    def __init__(self) -> None:
        self.shown = 0
        self._made: dict[str, str | None] = {}

    def find(self, value: Any) -> list[str]:
        """Descriptions of generated images anywhere in ``value``, in order, each once."""
        found: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, str) and _IMAGE.match(node) and node not in found:
                found.append(node)
            elif isinstance(node, dict):
                for item in node.values():
                    walk(item)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(value)
        return found

    def figure(self, description: str) -> str:
        if description not in self._made:
            self._made[description] = self._thumbnail(description) if self.shown < MAX_IMAGES else None
            self.shown += self._made[description] is not None
        uri = self._made[description]
        caption = f"<figcaption>{_t(description)}</figcaption>"
        if uri is None:
            return f"<figure>{caption}</figure>"
        return f'<figure><img src="{uri}" alt="{_t(description)}">{caption}</figure>'

    @staticmethod
    def _thumbnail(description: str) -> str | None:
        """The very image the kit generated: its images are a function of format, size and a
        shade (0-3) the description leaves out, so each shade is tried until the size matches."""
        match = _IMAGE.match(description)
        if match is None:
            return None
        try:
            from PIL import Image

            from .strategies import ImageSpec
        except ImportError:  # the kit's extra is not installed: the description is still shown
            return None
        fmt, width, height, size = match[1], int(match[2]), int(match[3]), int(match[4])
        for shade in range(4):
            data = ImageSpec(fmt, width, height, shade).data
            if len(data) == size:
                with Image.open(io.BytesIO(data)) as image:
                    image.thumbnail((THUMB_SIDE, THUMB_SIDE))
                    out = io.BytesIO()
                    image.convert("RGB").save(out, "PNG", optimize=True)
                return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")
        return None


def _example(example: dict[str, Any], images: _Images) -> str:
    rows = "".join(f"<tr><th>{_t(key)}</th><td><pre>{_pretty(value)}</pre></td></tr>" for key, value in example.items())
    figures = "".join(images.figure(d) for d in images.find(example))
    shown = f"<h3>The product image the kit generated</h3>{figures}" if figures else ""
    return f"<h3>Minimal example</h3><table>{rows}</table>{shown}"


def _requests(requests: list[dict[str, Any]]) -> str:
    out = ["<h3>Requests the client sent, and the fake's answers</h3>"]
    for r in requests:
        if "omitted" in r:
            out.append(f"<p class=req>… {_t(r['omitted'])} more …</p>")
            continue
        extra = "".join(f"\n{_t(k)}: {_pretty(r[k])}" for k in ("params", "problems", "signing") if k in r)
        out.append(
            f"<div class=req><pre>#{_t(r.get('id'))} {_t(r.get('request'))}{extra}</pre>"
            f"<div class=ans>→ {_t(r.get('answer'))}</div></div>"
        )
    return "".join(out)


def _client(client: dict[str, Any]) -> str:
    out = [f"<h3>The client</h3><p>{_t(client.get('text'))}</p>"]
    if client.get("stderr"):
        lines = str(client["stderr"]).splitlines()[-STDERR_LINES:]
        out.append(f"<h3>The adapter's stderr during this call</h3><pre>{_t(chr(10).join(lines))}</pre>")
    return "".join(out)


def _failure(n: int, total: int, f: Failure, images: _Images) -> str:
    head = f"[{n}/{total}] " if total > 1 else ""
    parts = [f'<div class="failure"><p><strong>{_t(head + f.detail)}</strong></p>']
    if f.example:
        parts.append(_example(f.example, images))
    if f.requests:
        parts.append(_requests(f.requests))
    if f.client:
        parts.append(_client(f.client))
    parts.append("</div>")
    return "".join(parts)


def _obligation(v: Verdict, images: _Images) -> str:
    failures = _failures(v)
    body = "".join(_failure(n, len(failures), f, images) for n, f in enumerate(failures, 1))
    return (
        f'<section class="ob" id="{_t(v.id)}"><h2>{_t(v.id)} {_t(v.title)} {_status(v.status)}</h2>'
        f"<p>{_t(v.summary)}</p>{body}</section>"
    )


def html_report(result: Result) -> str:
    """The whole page, as text."""
    images = _Images()
    counts = {s: sum(v.status == s for v in result.verdicts) for s in ("broken", "kept", "not applicable")}
    rows = "".join(
        f'<tr><td><a href="#{_t(v.id)}">{_t(v.id)}</a></td><td>{_t(v.title)}</td><td>{_status(v.status)}</td>'
        f"<td>{_t(v.detail)}</td></tr>"
        if v.status == "broken"
        else f"<tr><td>{_t(v.id)}</td><td>{_t(v.title)}</td><td>{_status(v.status)}</td><td>{_t(v.detail)}</td></tr>"
        for v in result.verdicts
    )
    broken = "".join(_obligation(v, images) for v in result.verdicts if v.status == "broken")
    notes = "".join(f"<li>{_t(n)}</li>" for n in result.notes)
    verdict = "every obligation kept" if result.ok else f"BROKEN: {', '.join(result.broken)}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # No script may run in the report, whatever a client wrote into it.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>bgmock contract: {_t(verdict)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>bgmock contract report</h1><p>{len(result.verdicts)} obligation(s): {counts['kept']} kept, "
        f"{counts['broken']} broken, {counts['not applicable']} not applicable · {result.elapsed:.1f} s "
        f"({result.client_elapsed:.1f} s in the client's calls) · fake at {_t(result.base_url)} · profile "
        f"{_t(result.settings.profile)}</p></header><main>"
        f'<p class="result {"ok" if result.ok else "bad"}">result: {_t(verdict)}</p>'
        f"<table><tr><th>id</th><th>obligation</th><th>verdict</th><th>detail</th></tr>{rows}</table>"
        f"{broken}"
        f"{f'<h3>Notes</h3><ul>{notes}</ul>' if notes else ''}"
        f"<details><summary>The terminal report, as printed</summary><pre>{_t(terminal(result))}</pre></details>"
        "</main></body></html>\n"
    )


def write_html(result: Result, path: str | Path) -> None:
    Path(path).write_text(html_report(result), encoding="utf-8")


__all__ = ["html_report", "write_html"]
