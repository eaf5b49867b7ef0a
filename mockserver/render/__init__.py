"""Drawing of the fake's result images and scene covers.

Results have to look plausible to a human skimming them (a scene-coloured background, the
product, the title), differ between the images of one task, and be byte-for-byte reproducible
so that tests and recorded fixtures can compare hashes. All randomness therefore comes from a
``random.Random`` seeded with the caller's seed and the image index; nothing reads the clock.

compose.py puts the two pictures together and encodes them; backdrops.py draws the scene
behind (colours.py: its palette and type); products.py decodes, cuts out or stands in for the
product; text.py draws only the characters the bundled font has.
"""

from __future__ import annotations

from .compose import render_cover, render_result
from .products import DecodedProducts, placeholder_product

__all__ = ["DecodedProducts", "placeholder_product", "render_cover", "render_result"]
