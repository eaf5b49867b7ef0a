"""The fake's journal entries as the kit reads them: only what ``schemas/journal-entry.json`` promises.

The checks judge a client by the fake's journal (``GET /__admin/requests``). The journal is a
documented API with a versioned schema, so the kit must not lean on a field the schema does
not declare: every entry reaches the checks as an ``Entry``, a dict whose reads
(``e["x"]``, ``e.get("x")``, ``"x" in e``) of an undeclared field raise ``UndeclaredField``,
and nested records (``images[]``, ``injected``, ``signing``) are checked the same way against
their ``$defs``. ``READ`` keeps every field read, for the test that the kit's reads are a
subset of the schema's promises.

The abbreviation rule the schema states (``x-abbreviation``) is read from it here, so C2's
comparison of a shortened base64 text rests on the documented rule, not on a copied 256.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mockserver.spec import load_spec

SCHEMA: dict[str, Any] = load_spec().schema("journal-entry.json")
#: The version of the schema this kit reads; a fake serving another refuses to be judged.
VERSION: int = SCHEMA["x-schemaVersion"]
_RULE = SCHEMA["x-abbreviation"]
#: Strings longer than this many characters read ``"<N chars>"`` in the journal.
TEXT_LIMIT: int = _RULE["maxStringLength"]
SHORTENED = re.compile(_RULE["stringMarkerPattern"])

#: Every field the kit has read since the process started ("images[].crc32" for nested ones).
READ: set[str] = set()


class UndeclaredField(KeyError):
    """The kit read a journal field ``schemas/journal-entry.json`` does not declare (a kit bug)."""


class Entry(dict):  # type: ignore[type-arg]
    """A journal entry (or one of its declared sub-records) whose reads are checked against the schema."""

    __slots__ = ()
    declared: frozenset[str] = frozenset(SCHEMA["properties"])
    where = ""

    def _checked(self, key: Any) -> Any:
        if key not in self.declared:
            raise UndeclaredField(
                f"the contract kit read journal field {self.where}{key!r}, which schemas/journal-entry.json does not "
                "declare: declare it there (and write it in mockserver/journal.py) or do not read it"
            )
        READ.add(f"{self.where}{key}")
        return key

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(self._checked(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(self._checked(key), default)

    def __contains__(self, key: Any) -> bool:
        return super().__contains__(self._checked(key))


class ImageRecord(Entry):
    """One of ``images[]``."""

    __slots__ = ()
    declared = frozenset(SCHEMA["$defs"]["image"]["properties"])
    where = "images[]."


class InjectedRecord(Entry):
    __slots__ = ()
    declared = frozenset(SCHEMA["$defs"]["injected"]["properties"])
    where = "injected."


class SigningRecord(Entry):
    __slots__ = ()
    declared = frozenset(SCHEMA["$defs"]["signing"]["properties"])
    where = "signing."


def entry(raw: Mapping[str, Any]) -> Entry:
    """A journal entry as served, its declared sub-records wrapped too."""
    out = Entry(raw)
    images = raw.get("images")
    if isinstance(images, list):
        dict.__setitem__(out, "images", [ImageRecord(i) if isinstance(i, dict) else i for i in images])
    for key, kind in (("injected", InjectedRecord), ("signing", SigningRecord)):
        value = raw.get(key)
        if isinstance(value, dict):
            dict.__setitem__(out, key, kind(value))
    return out


def entries(answer: Mapping[str, Any]) -> list[Entry]:
    """The entries of a ``GET /__admin/requests`` answer, newest first; refuses another schema version."""
    version = answer.get("schemaVersion")
    if version != VERSION:
        raise RuntimeError(
            f"the fake serves journal schema version {version!r}; this contract kit reads version {VERSION} "
            "(use the kit and the fake of one bgmock release)"
        )
    return [entry(e) for e in answer.get("requests", []) if isinstance(e, dict)]


def shortened_length(text: Any) -> int | None:
    """The length a ``"<N chars>"`` marker stands for (the schema's abbreviation rule), else None."""
    if not isinstance(text, str):
        return None
    found = SHORTENED.match(text)
    return int(found.group(1)) if found else None


__all__ = ["READ", "SHORTENED", "TEXT_LIMIT", "VERSION", "Entry", "UndeclaredField", "entries", "entry",
           "shortened_length"]
