"""Every example block of the plugin docs is code that runs: found word for word in this folder.

A block marked ``<!-- example -->`` in docs/pytest-plugin.md or README.md must appear in one
of the ``test_*.py`` files beside this one, which pytest runs; so an example that stops
working fails a test, and an example edited only in the docs fails this one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
BLOCK = re.compile(r"<!-- example -->\s*\n```python\n(.*?)```", re.DOTALL)


def _blocks(doc: str) -> list[str]:
    return BLOCK.findall((ROOT / doc).read_text(encoding="utf-8"))


@pytest.mark.parametrize("doc", ["docs/pytest-plugin.md", "README.md"])
def test_each_example_block_is_in_a_test_file(doc):
    sources = "\n".join(p.read_text(encoding="utf-8") for p in sorted(HERE.glob("test_*.py")))
    blocks = _blocks(doc)
    assert blocks, f"{doc} has no <!-- example --> block"
    missing = [block for block in blocks if block.strip() not in sources]
    assert not missing, f"{doc}: examples not found in tests/docs/examples/:\n\n" + "\n---\n".join(missing)
