"""The ranges in pyproject.toml agree with what the installed packages themselves require.

Installing ``.[test]`` after ``.`` used to downgrade jsonschema-rs: the base dependency said
``>=0.30`` (so a fresh install took the newest, 0.61), while schemathesis, in the test extra,
requires ``<0.61``. The class: two requirements on one package that disagree, so that
installing one extra after the base changes a version already installed. Checked here on the
environment the suite runs in (``pip install -e ".[test]"``), from pyproject.toml and the
installed distributions' own metadata (``importlib.metadata.requires``):

1. every requirement, ours or a dependency's, is met by the installed version;
2. every range pyproject.toml declares for a package stops where any installed dependency's
   range on that package stops (an upper bound at or below theirs), so a fresh base install
   cannot pick a version an extra would then replace.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the base dependencies bring tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
#: The extras the suite's environment is made from (README: ``pip install -e ".[test]"``).
INSTALLED_EXTRAS = ("test",)


def _applies(req: Requirement, extras: tuple[str, ...] = ("",)) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({**default_environment(), "extra": extra}) for extra in extras)


def _declared(groups: tuple[str, ...]) -> list[tuple[str, Requirement]]:
    """pyproject.toml's requirements for the base and ``groups`` of extras, as (where, requirement)."""
    found = [("dependencies", Requirement(text)) for text in PROJECT["dependencies"]]
    for group in groups:
        found += [(f"[{group}]", Requirement(text)) for text in PROJECT["optional-dependencies"][group]]
    return [(where, req) for where, req in found if _applies(req)]


def _installed(name: str) -> metadata.Distribution | None:
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None


def _closure(groups: tuple[str, ...] = INSTALLED_EXTRAS) -> dict[str, list[tuple[str, str, Requirement]]]:
    """Every requirement on each package reachable from the base and ``groups``, by canonical name.

    Each as (requirer, label, requirement): the requirer is ``dependencies`` or ``[extra]`` for
    pyproject.toml, else the canonical name of the installed distribution that requires it.
    """
    on: dict[str, list[tuple[str, str, Requirement]]] = {}
    todo = [(where, where, req) for where, req in _declared(groups)]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while todo:
        requirer, label, req = todo.pop()
        name = canonicalize_name(req.name)
        on.setdefault(name, []).append((requirer, label, req))
        key = (name, tuple(sorted(req.extras)))
        dist = _installed(req.name)
        if key in seen or dist is None:
            continue
        seen.add(key)
        extras = ("", *req.extras)
        for text in dist.requires or []:
            sub = Requirement(text)
            if _applies(sub, extras):
                todo.append((name, f"{dist.metadata['Name']} {dist.version}", sub))
    return on


def _ceiling(spec: SpecifierSet) -> tuple[Version, bool] | None:
    """The lowest upper bound of ``spec``: (version, inclusive), or None when it has none."""
    bounds: list[tuple[Version, bool]] = []
    for one in spec:
        bounds += _bounds(one)
    return min(bounds, key=lambda b: (b[0], b[1])) if bounds else None


def _bounds(one: Specifier) -> list[tuple[Version, bool]]:
    op, text = one.operator, one.version
    if op == "<":
        return [(Version(text), False)]
    if op in ("<=", "==="):
        return [(Version(text), True)]
    if op == "==" and not text.endswith(".*"):
        return [(Version(text), True)]
    if op == "==":  # ==1.2.* stops before 1.3
        parts = [int(p) for p in text[:-2].split(".")]
        return [(Version(".".join(map(str, [*parts[:-1], parts[-1] + 1]))), False)]
    if op == "~=":  # ~=1.4.2 stops before 1.5
        parts = Version(text).release[:-1]
        return [(Version(".".join(map(str, [*parts[:-1], parts[-1] + 1]))), False)]
    return []


def _wider(ours: SpecifierSet, theirs: SpecifierSet) -> bool:
    """Whether ``ours`` lets in versions above where ``theirs`` stops."""
    their_top = _ceiling(theirs)
    if their_top is None:
        return False
    our_top = _ceiling(ours)
    if our_top is None:
        return True
    return (our_top[0], our_top[1]) > (their_top[0], their_top[1])


def test_every_requirement_in_the_environment_is_met_by_what_is_installed():
    unmet = []
    for name, reqs in sorted(_closure().items()):
        dist = _installed(name)
        if dist is None:
            unmet += [f"{label} requires {req}: not installed" for _, label, req in reqs]
            continue
        unmet += [
            f"{label} requires {req}, installed {dist.version}"
            for _, label, req in reqs
            if not req.specifier.contains(dist.version, prereleases=True)
        ]
    assert not unmet, "\n".join(unmet)


def test_no_extra_caps_a_package_the_base_installs_below_where_the_base_stops():
    """What ``pip install -e .`` brings (directly or not) must stop where the extras' packages stop.

    Else a fresh base install takes the newest release, and installing an extra replaces it.
    """
    base = set(_closure(()))
    clashes = []
    for name, reqs in sorted(_closure(tuple(PROJECT["optional-dependencies"])).items()):
        if name not in base:
            continue
        base_side = [(label, req) for requirer, label, req in reqs if requirer == "dependencies" or requirer in base]
        allowed = SpecifierSet()
        for _, req in base_side:
            allowed &= req.specifier
        for _, label, req in reqs:
            if (label, req) not in base_side and _wider(allowed, req.specifier):
                clashes.append(f"{name}: the base allows {allowed or 'any version'} "
                               f"({'; '.join(f'{lb}: {r}' for lb, r in base_side)}), "
                               f"but {label} requires {req}: cap it in pyproject.toml's dependencies")
    assert not clashes, "\n".join(clashes)


@pytest.mark.parametrize(("ours", "theirs", "wider"), [
    (">=0.30", ">=0.60.1,<0.61.0", True),          # the jsonschema-rs downgrade
    (">=0.30,<0.61", ">=0.60.1,<0.61.0", False),
    (">=0.30,<0.62", "<=0.61", True),
    (">=1", "~=1.4.2", True),
    (">=1,<1.5", "~=1.4.2", False),
    (">=7.4,<9.2", "==9.0.*", True),
    (">=7.4,<9.1", "==9.0.*", False),
    (">=7.4,<9.1", ">=6", False),
])
def test_the_range_comparison_itself(ours, theirs, wider):
    assert _wider(SpecifierSet(ours), SpecifierSet(theirs)) is wider
