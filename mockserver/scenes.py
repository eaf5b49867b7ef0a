"""The scene catalog behind scene query and submit's ``modelNum`` check.

The vendor publishes no real scene IDs (its own sample uses ``mod001``), so the fake ships an
invented catalog in ``fixtures/scenes.json`` and lets users point at their own.  A user's file
is user input: every problem with it becomes a ``CatalogError`` naming the file and the entry,
because a ``KeyError`` from deep inside server start-up tells nobody which line to fix.

The file's shape is ``schemas/catalog.json``, worded by ``validation.problems`` like every
other input; this module adds only what a schema cannot say (unique IDs, category names).
It stays light (no Flask, no Pillow, no backend): the server, the image renderer and the
contract kit all read scenes, and none of them should drag in the others. ``query`` trusts
its caller (the scene query's rules are ``schemas/scene-query-request.json``'s) and only
filters and ranks.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .spec import load_spec
from .textfile import NotUtf8Error, RepeatedKeys, load_json, read_text
from .validation.coercion import integer_plan, whole_numbers
from .validation.order import field_order
from .validation.problems import schema_problems

__all__ = ["CatalogError", "Scene", "SceneCatalog"]

# The documented names; a catalog may omit "sceneTypes" and still read well in messages.
DEFAULT_SCENE_TYPES: Mapping[int, str] = MappingProxyType(
    {1: "Indoor", 2: "Outdoor", 3: "Atmosphere", 4: "Promotion"}
)
# Lets a user catalog that only cares about IDs skip colours and still render something.
DEFAULT_PALETTE: tuple[str, ...] = ("#f2f2f2", "#d9d9d9", "#a6a6a6")

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_HAS_CJK = re.compile(f"[{_CJK}]")
# A run of CJK, or a run of other word characters: "iPhone手机壳" is two tokens, not one,
# because \w alone would glue the scripts together and neither half would ever match.
_TOKEN = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+")
# Words that appear in scene names ("Beach at golden hour") but say nothing about a product;
# without this a title containing "the" would favour every scene whose name has "the".
_SHORT_WORD = 3  # letters of a word too short to fold as a plural ("gas", "bus")
_STOPWORDS = frozenset(
    {
        "a", "an", "and", "at", "by", "for", "from", "in",
        "into", "of", "on", "or", "the", "to", "with",
    }
)


class CatalogError(ValueError):
    """A scene catalog the fake cannot use; the message names the file and the bad entry."""


@dataclass(frozen=True)
class Scene:
    """One scene template: what scene query lists and what submit's ``modelNum`` refers to."""

    model_num: str
    name: str
    scene_name: str
    scene_type: int
    category_types: tuple[int, ...]
    category_names: tuple[str, ...]
    keywords: tuple[str, ...]
    palette: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """The entry in the catalog file's own vocabulary, so the renderer needs no mapping."""
        return {
            "modelNum": self.model_num,
            "name": self.name,
            "sceneName": self.scene_name,
            "sceneType": self.scene_type,
            "categoryType": list(self.category_types),
            "categoryNameList": list(self.category_names),
            "keywords": list(self.keywords),
            "palette": list(self.palette),
        }


def _fold(text: str) -> str:
    """Lower-case and drop accents, so "Café" in a name meets "cafe" in a title."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _stem(word: str) -> str:
    """Crude plural folding: titles say "mugs" and "running shoes", keywords say "mug", "shoe"."""
    if len(word) <= _SHORT_WORD or word.endswith("ss"):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("es") and word[:-2].endswith(("s", "x", "ch", "sh")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def _latin_terms(text: str) -> set[str]:
    """The comparable non-CJK words of ``text`` (stemmed, minus stopwords and single letters)."""
    return {
        _stem(token)
        for token in _TOKEN.findall(_fold(text))
        if not _HAS_CJK.match(token) and len(token) > 1 and token not in _STOPWORDS
    }


@dataclass(frozen=True)
class _Indexed:
    """A scene with its match terms precomputed, so a query costs no tokenising per scene."""

    scene: Scene
    terms: frozenset[str]
    cjk_keywords: tuple[str, ...]

    def score(self, title_terms: set[str], folded_title: str) -> int:
        """Title words that hit this scene; CJK keywords count when they occur anywhere in it.

        Chinese titles have no spaces, so word splitting cannot find "咖啡" inside "陶瓷咖啡杯";
        a substring test can, and CJK keywords are specific enough not to misfire.
        """
        hits = len(title_terms & self.terms)
        return hits + sum(1 for keyword in self.cjk_keywords if keyword in folded_title)


class SceneCatalog:
    """An immutable, ordered set of scenes; the order is the file's and breaks ranking ties."""

    def __init__(
        self,
        scenes: tuple[Scene, ...],
        *,
        scene_type_names: Mapping[int, str] | None = None,
        category_names: Mapping[int, str] | None = None,
        source: str = "<catalog>",
    ) -> None:
        self.source = source
        self.scene_type_names: Mapping[int, str] = MappingProxyType(
            dict(scene_type_names if scene_type_names is not None else DEFAULT_SCENE_TYPES)
        )
        self.category_names: Mapping[int, str] = MappingProxyType(dict(category_names or {}))
        self._scenes = tuple(scenes)
        self._by_id = {scene.model_num: scene for scene in self._scenes}
        if len(self._by_id) != len(self._scenes):
            raise CatalogError(f"{source}: modelNum values must be unique")
        self._index = tuple(_index(scene) for scene in self._scenes)

    # -- loading -------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SceneCatalog:
        """Read a catalog file; every way it can be unusable becomes a CatalogError."""
        where = os.fspath(path)
        try:
            text = read_text(where, f"{where}: scene catalog")  # UTF-8, a byte-order mark accepted
        except FileNotFoundError:
            raise CatalogError(f"{where}: scene catalog file not found") from None
        except IsADirectoryError:
            raise CatalogError(f"{where}: scene catalog path is a directory, not a file") from None
        except NotUtf8Error as exc:
            raise CatalogError(str(exc)) from None
        except OSError as exc:
            raise CatalogError(f"{where}: cannot read scene catalog: {exc.strerror}") from None
        try:
            data = load_json(text)
        except RepeatedKeys as exc:  # a second "scenes" or "modelNum" would win silently
            raise CatalogError(f"{where}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise CatalogError(
                f"{where}: scene catalog is not valid JSON: {exc.msg} "
                f"(line {exc.lineno}, column {exc.colno})"
            ) from None
        return cls.from_dict(data, source=where)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<catalog>") -> SceneCatalog:
        """Validate a parsed catalog against ``schemas/catalog.json``, then what a schema cannot
        say: unique modelNum, and a category name for every id a scene uses.

        ``categories``, ``sceneTypes``, ``keywords``, ``palette`` and ``categoryNameList`` are
        optional so that a user can write a catalog that only lists the IDs their client uses.
        """
        data = _checked(data, source)
        scene_types = _id_names(data.get("sceneTypes"))
        categories = _id_names(data.get("categories"))
        scenes: list[Scene] = []
        seen: dict[str, int] = {}
        for position, entry in enumerate(data["scenes"]):
            scene = _parse_scene(entry, f"{source}: {_entry(position, entry)}", categories)
            if scene.model_num in seen:
                raise CatalogError(
                    f"{source}: scenes[{position}]: duplicate modelNum {scene.model_num!r} "
                    f"(first used by scenes[{seen[scene.model_num]}])"
                )
            seen[scene.model_num] = position
            scenes.append(scene)
        return cls(
            tuple(scenes),
            scene_type_names=scene_types if scene_types is not None else DEFAULT_SCENE_TYPES,
            category_names=categories or {},
            source=source,
        )

    # -- lookup --------------------------------------------------------------------------

    def get(self, model_num: str) -> Scene | None:
        """The scene with this ID, or None (submit turns None into its own error)."""
        return self._by_id.get(model_num)

    def __contains__(self, model_num: object) -> bool:
        return model_num in self._by_id

    def __len__(self) -> int:
        return len(self._scenes)

    def __iter__(self) -> Iterator[Scene]:
        return iter(self._scenes)

    @property
    def scenes(self) -> tuple[Scene, ...]:
        """All scenes in file order (a tuple, so callers cannot reorder the catalog)."""
        return self._scenes

    def query(
        self,
        *,
        product_title: str | None = None,
        category_type: int | None = None,
        scene_type: int | None = None,
        count: int = 10,
    ) -> list[Scene]:
        """Scenes suiting the filters, best match for ``product_title`` first, at most ``count``.

        Ranking is a plain hit count with ties left in file order (``sorted`` is stable), so
        the same request always answers the same list: contract tests can pin it, and a
        user can steer the order by reordering their catalog.
        """
        if count <= 0:
            return []
        candidates = [
            entry
            for entry in self._index
            if (category_type is None or category_type in entry.scene.category_types)
            and (scene_type is None or entry.scene.scene_type == scene_type)
        ]
        if product_title and product_title.strip():
            folded = _fold(product_title)
            title_terms = _latin_terms(product_title)
            candidates = sorted(candidates, key=lambda e: -e.score(title_terms, folded))
        return [entry.scene for entry in candidates[:count]]


def _index(scene: Scene) -> _Indexed:
    """Precompute what a title is matched against: keywords, name and sceneName words."""
    terms: set[str] = set()
    cjk: list[str] = []
    for keyword in scene.keywords:
        if _HAS_CJK.search(keyword):
            cjk.append(_fold(keyword))
        terms |= _latin_terms(keyword)
    terms |= _latin_terms(scene.name) | _latin_terms(scene.scene_name)
    return _Indexed(scene, frozenset(terms), tuple(dict.fromkeys(cjk)))


#: Problems named in one CatalogError: enough to fix a file in one go, never a wall of text.
_MAX_PROBLEMS = 10
_ENTRY = re.compile(r"^scenes\[([0-9]+)\]")


def _checked(data: Any, source: str) -> dict[str, Any]:
    """The catalog after ``schemas/catalog.json`` (whole-number floats read as the integers
    JSON Schema counts them), or a CatalogError naming the file, each bad entry and field."""
    if not isinstance(data, Mapping):
        raise CatalogError(f"{source}: scene catalog must be a JSON object with a 'scenes' list")
    data = {key: _str_keys(value) if key in ("sceneTypes", "categories") else value for key, value in data.items()}
    spec = load_spec()
    data = whole_numbers(data, integer_plan(spec, "catalog.json"))  # "sceneType": 2.0 is 2
    problems = schema_problems(
        spec.validator("catalog.json"), data,
        fast=spec.fast_check("catalog.json"), order=field_order(spec, "catalog.json"),
    )
    if problems:
        shown = [_labelled(problem, data) for problem in problems[:_MAX_PROBLEMS]]
        more = len(problems) - len(shown)
        raise CatalogError(f"{source}: " + "; ".join(shown) + (f" (and {more} more)" if more > 0 else ""))
    return data


def _str_keys(names: Any) -> Any:
    """``{1: "Indoor"}`` from a Python caller as the file would say it, ``{"1": "Indoor"}``."""
    if not isinstance(names, Mapping):
        return names
    return {str(k) if isinstance(k, int) and not isinstance(k, bool) else k: v for k, v in names.items()}


def _entry(position: int, entry: Any) -> str:
    """``scenes[3] (modelNum 'mod004')``: the index to count to, the ID to search for."""
    model_num = entry.get("modelNum") if isinstance(entry, Mapping) else None
    if isinstance(model_num, str) and model_num.strip():
        return f"scenes[{position}] (modelNum {model_num[:64]!r})"
    return f"scenes[{position}]"


def _labelled(problem: str, data: Mapping[str, Any]) -> str:
    """A schema problem about a scene, with that scene's modelNum beside its index."""
    match = _ENTRY.match(problem)
    if not match:
        return problem
    position = int(match[1])
    rest = problem[match.end():]
    return _entry(position, data["scenes"][position]) + (f": {rest[1:]}" if rest.startswith(".") else rest)


def _id_names(raw: Mapping[str, str] | None) -> dict[int, str] | None:
    """``{"1": "Indoor", ...}`` (keys checked by the schema) -> ``{1: "Indoor", ...}``."""
    if raw is None:
        return None
    return {int(key): name for key, name in raw.items()}


def _parse_scene(entry: Mapping[str, Any], label: str, categories: Mapping[int, str] | None) -> Scene:
    """One Scene from an entry the schema passed; the names rules a schema cannot say."""
    category_types = tuple(entry["categoryType"])
    category_names = entry.get("categoryNameList")
    if category_names is None:
        missing = [c for c in category_types if c not in (categories or {})]
        if missing:
            raise CatalogError(
                f"{label}: no 'categoryNameList', and the catalog's 'categories' has no name "
                f"for id(s) {', '.join(map(str, missing))}"
            )
        category_names = [(categories or {})[c] for c in category_types]
    elif len(category_names) != len(category_types):
        raise CatalogError(
            f"{label}: 'categoryNameList' has {len(category_names)} names for "
            f"{len(category_types)} 'categoryType' ids"
        )
    return Scene(
        model_num=entry["modelNum"],
        name=entry["name"],
        scene_name=entry["sceneName"],
        scene_type=entry["sceneType"],
        category_types=category_types,
        category_names=tuple(category_names),
        keywords=tuple(k.strip().lower() for k in entry.get("keywords") or ()),
        palette=tuple(c.lower() for c in entry.get("palette") or DEFAULT_PALETTE),
    )
