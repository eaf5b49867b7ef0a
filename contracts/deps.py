"""What the kit needs beyond bgmock's own dependencies, and a hint that installs it.

bgmock is not on PyPI, so ``pip install "bgmock[contract]"`` cannot work for anyone: the hint
names commands that do, for someone who installed bgmock from a checkout. Standard library
only, so the message can be given when the packages are missing.
"""

from __future__ import annotations

#: Packages the kit (hypothesis) and its reference client (requests) import.
PACKAGES = ("hypothesis", "requests")

INSTALL_HINT = 'pip install hypothesis requests (or, from the bgmock checkout: pip install -e ".[contract]")'


def missing(exc: ImportError, what: str = "the contract kit") -> ModuleNotFoundError:
    """A ModuleNotFoundError naming the package that is missing and how to install it."""
    name = getattr(exc, "name", None) or "?"
    return ModuleNotFoundError(f"{what} needs the package {name!r}, which is not installed: {INSTALL_HINT}", name=name)


def is_kit_package(exc: ImportError) -> bool:
    """Whether the import failed on one of the kit's own optional packages."""
    return (getattr(exc, "name", None) or "").split(".")[0] in PACKAGES
