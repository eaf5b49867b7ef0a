"""The one place that knows where the data files are, and that loads and compiles them.

Schemas are compiled once per process (``load_spec`` is cached), because validating with a
freshly built validator costs more than the validation itself.  From a checkout the data
sits beside the packages (``schemas/``, ``fixtures/``); an installed wheel carries the same
folders inside the package as ``mockserver/_data/``.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from referencing import Registry

SCHEMA_BASE = "https://schemas.bgmock.invalid/"


def data_dir() -> Path:
    """Folder holding ``schemas/`` and ``fixtures/``: $BGMOCK_DATA_DIR, the wheel's, or the checkout's."""
    env = os.environ.get("BGMOCK_DATA_DIR")
    if env:
        return Path(env)
    packaged = Path(__file__).parent / "_data"
    if (packaged / "schemas").is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ErrorCode:
    """One documented business error code, from ``schemas/errors.json``."""

    res_code: int
    message: str
    description: str
    retryable: bool
    trigger: Mapping[str, Any]


class Spec:
    """The API's shape as loaded from ``schemas/``: compiled validators and the error catalog."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.schema_dir = root / "schemas"
        self.fixtures_dir = root / "fixtures"
        self.schemas: dict[str, dict[str, Any]] = {}
        for path in sorted(self.schema_dir.glob("*.json")):
            if path.name == "errors.json":
                continue
            self.schemas[path.name] = json.loads(path.read_text(encoding="utf-8"))
        catalog = json.loads((self.schema_dir / "errors.json").read_text(encoding="utf-8"))
        self.errors: dict[int, ErrorCode] = {
            entry["resCode"]: ErrorCode(
                entry["resCode"], entry["message"], entry["description"],
                entry["retryable"], entry.get("trigger", {}),
            )
            for entry in catalog["codes"]
        }
        self.gateway_errors: dict[str, dict[str, Any]] = {
            entry["code"]: entry for entry in catalog["gateway"]
        }
        self.task_outcomes: dict[str, str] = {
            key: value for key, value in catalog.get("taskOutcomes", {}).items()
            if not key.startswith("$")
        }
        self._validators: dict[str, Any] = {}
        self._fast: dict[str, Callable[[Any], bool]] = {}

    def schema(self, name: str) -> dict[str, Any]:
        """The raw schema document ``schemas/<name>``."""
        return self.schemas[name]

    @cached_property
    def registry(self) -> Registry:
        """Every schema by its ``$id``, each without its ``$schema``: jsonschema picks the
        validator class of a ``$ref``'s target by that keyword (``validator_for``), so a file
        reached through a ``$ref`` (``config.json``'s fault rules) was checked by the stock
        Draft 2020-12 class, without ``_build``'s ``pattern`` and ``number``. Every file here
        is Draft 2020-12, as the registry says."""
        from referencing import Registry
        from referencing.jsonschema import DRAFT202012

        return Registry().with_resources(
            (schema["$id"], DRAFT202012.create_resource({k: v for k, v in schema.items() if k != "$schema"}))
            for schema in self.schemas.values()
        )

    def validator(self, ref: str) -> Draft202012Validator:
        """A compiled validator for ``name.json`` or ``name.json#/pointer``, built once, on first use.

        Built lazily (``_Lazy``): importing and compiling jsonschema is a fifth of the fake's
        start-up, and valid input never needs it (``fast_check`` answers that).
        """
        found = self._validators.get(ref)
        if found is None:
            found = self._validators[ref] = _Lazy(lambda: self._build(ref))
        return found  # type: ignore[no-any-return]

    def _build(self, ref: str) -> Draft202012Validator:
        from jsonschema import Draft202012Validator, validators

        name, _, pointer = ref.partition("#")
        schema: dict[str, Any] = {"$ref": SCHEMA_BASE + ref} if pointer else self.schemas[name]
        # ``pattern`` as JSON Schema (ECMA-262) and the fast check read it: see ``ecma_pattern``;
        # a number as JSON has them: finite (``_finite_number``).
        types = Draft202012Validator.TYPE_CHECKER.redefine("number", _finite_number)
        strict = validators.extend(Draft202012Validator, {"pattern": _pattern}, type_checker=types)
        return strict(schema, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER)  # type: ignore[no-any-return]

    def fast_check(self, ref: str) -> Callable[[Any], bool]:
        """A compiled yes/no check for ``ref``, to skip the full validator on valid input.

        With ``jsonschema-rs`` installed (a dependency) this is Rust and ~100x faster than
        ``jsonschema``, which dominated a submit's cost.  It only ever answers the common case:
        when it says "invalid", callers still ask ``validator(ref)`` for the problems, so the
        verdict and the messages stay jsonschema's (a property test holds the two to agree).
        """
        found = self._fast.get(ref)
        if found is None:
            try:
                import jsonschema_rs
            except ImportError:  # pragma: no cover - the pure-Python fallback
                found = self.validator(ref).is_valid
            else:
                name, _, pointer = ref.partition("#")
                schema = {"$ref": SCHEMA_BASE + ref} if pointer else self.schemas[name]
                registry = jsonschema_rs.Registry([(doc["$id"], doc) for doc in self.schemas.values()])
                found = jsonschema_rs.validator_for(schema, registry=registry, validate_formats=True).is_valid
            self._fast[ref] = found
        return found

    @cached_property
    def documented_codes(self) -> tuple[int, ...]:
        return tuple(sorted(self.errors))

    @cached_property
    def retryable_codes(self) -> frozenset[int]:
        return frozenset(code for code, entry in self.errors.items() if entry.retryable)

    def fixture(self, name: str) -> Path:
        return self.fixtures_dir / name


@lru_cache(maxsize=256)
def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """A schema's ``pattern`` compiled so that ``$`` means what ECMA-262 (JSON Schema's regex
    dialect, and jsonschema-rs's) says: the end of the text. Python's ``$`` also matches before
    a final newline, so ``"example.com\\n"`` passed ``^[A-Za-z0-9.]+$`` in jsonschema while the
    fast check refused it; with no problem to name, the value was then accepted. ``\\Z`` is
    Python's end of text; a ``$`` escaped or inside ``[...]`` stays a dollar sign."""
    out, in_class, i = [], False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
        i += 1
    return re.compile("".join(out))


def _finite_number(checker: Any, instance: Any) -> bool:
    """JSON Schema's ``number``: what JSON can write, so never NaN or an infinity. Python reads
    them (``float("nan")``, TOML's ``nan`` and ``inf``, ``json.loads`` of ``NaN`` or ``1e400``)
    and jsonschema counted them as numbers, so a setting of NaN passed every bound (each
    comparison with NaN is false); the fast check (jsonschema-rs) refuses them, and so does this."""
    if isinstance(instance, bool) or not isinstance(instance, numbers.Number):
        return False
    return not isinstance(instance, float) or math.isfinite(instance)


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    """jsonschema's ``pattern`` keyword, with ``ecma_pattern``'s end of text."""
    from jsonschema import ValidationError

    if validator.is_type(instance, "string") and not ecma_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


class _Lazy:
    """Stands for a jsonschema validator and builds it on the first attribute asked for."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._real: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._real is None:
            self._real = self._build()
        return getattr(self._real, name)


@lru_cache(maxsize=4)
def load_spec(root: Path | None = None) -> Spec:
    """The process-wide compiled spec (immutable once loaded, so sharing it is safe)."""
    return Spec(root or data_dir())
