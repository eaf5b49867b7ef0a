"""Text in result images and scene covers: only glyphs the bundled font has, never tofu boxes.

Pillow's bundled font covers little more than ASCII; a Chinese ``productTitle`` used to come out
as a row of boxes. The fake now leaves out what it cannot draw (README, Spec notes).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import ImageDraw

from mockserver import render
from mockserver.render.text import drawable_text, font, has_glyph

ROOT = Path(__file__).resolve().parents[2]
SCENES = json.loads((ROOT / "fixtures" / "scenes.json").read_text(encoding="utf-8"))["scenes"]
SCENE = SCENES[0]


def _result(title: str | None, *, need_layout: bool = False) -> bytes:
    return render.render_result(width=800, height=800, scene=SCENE, index=0, seed="s", title=title,
                                need_layout=need_layout)


def test_the_bundled_font_really_lacks_cjk_so_the_check_matters():
    """Drawn as is, a Chinese character leaves ink (the .notdef box): the bug this file guards."""
    face = font(24)
    assert any(bytes(face.getmask("中"))), "the font draws nothing for CJK: the tofu check is moot"
    assert not has_glyph("中") and not has_glyph("😀")
    assert has_glyph("A") and has_glyph("7")


@pytest.mark.parametrize("need_layout", [False, True])
def test_a_chinese_title_draws_no_text_rather_than_boxes(need_layout):
    assert _result("红色运动鞋 轻便透气", need_layout=need_layout) == _result(None, need_layout=need_layout)


@pytest.mark.parametrize(("title", "drawn"), [
    ("红色 Running Shoe 2024", "Running Shoe 2024"),
    ("Café crème", "Cafe creme"),              # compatibility folding keeps the letters
    ("ＡＢＣ！", "ABC!"),                       # full-width forms, common in Chinese titles
    ("Mug\u200b350ml", "Mug350ml"),             # an invisible character is not a box either
])
def test_a_mixed_title_draws_its_drawable_part(title, drawn):
    assert drawable_text(font(24), title) == drawn
    assert _result(title) == _result(drawn)


def test_no_text_drawn_anywhere_has_a_character_the_font_lacks(monkeypatch):
    """The class: every string any drawing path hands Pillow (titles, labels, covers)."""
    drawn: list[str] = []
    original = ImageDraw.ImageDraw.text

    def spy(self, xy, text, *args, **kwargs):
        drawn.append(text)
        return original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", spy)
    for scene in SCENES:
        render.render_cover(dict(scene, name=f"{scene['name']} 场景"))
    render.render_result(width=750, height=1000, scene=dict(SCENE, sceneName="厨房 Kitchen"), index=1, seed="s",
                         title="红色 Running Shoe ✓ 2024", need_layout=True)
    assert drawn
    lacking = sorted({ch for text in drawn for ch in text if not ch.isspace() and not has_glyph(ch)})
    assert lacking == []


def test_a_cover_whose_name_has_nothing_drawable_gets_no_empty_band(monkeypatch):
    bands: list[object] = []
    original = ImageDraw.ImageDraw.rectangle

    def spy(self, xy, *args, **kwargs):
        bands.append(xy)
        return original(self, xy, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "rectangle", spy)
    render.render_cover(dict(SCENE, sceneName="Kitchen", name="Kitchen"))
    named = len(bands)
    bands.clear()
    render.render_cover(dict(SCENE, sceneName="厨房", name="厨房"))
    assert len(bands) == named - 1  # the backdrop's own rectangles, without the name's band
