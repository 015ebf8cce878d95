"""The checker's view of the modules it consults: templates, formatters, path and type mapping.

Owns: the few calls `rsd.check` makes into `rsd.template`, `rsd.formatters` and `rsd.mapping`, in one
place. Must not: evaluate a template or map a document.
"""
from __future__ import annotations

from typing import Mapping, Optional

from ..formatters import REGISTRY, Formatter
from ..mapping import KNOWN_DATA_MODELS, KNOWN_TYPES, SUPPORTED_DATA_MODELS  # noqa: F401  (for the rules)
from ..mapping import path_problem as _path_problem
from ..mapping import relational_problem as _relational_problem
from ..template import TemplateSyntaxError, compile_template  # noqa: F401  (for the rules)

__all__ = ["KNOWN_DATA_MODELS", "KNOWN_TYPES", "SUPPORTED_DATA_MODELS", "TemplateSyntaxError", "compile_template",
           "formatters", "known_types", "maps_type", "relational_problem", "validate_path"]


def formatters() -> Mapping[str, Formatter]:
    """The formatter registry (lower-case name → Formatter with min_args/max_args)."""
    return REGISTRY


def validate_path(path: str, kind: str) -> Optional[tuple[str, Optional[int]]]:
    """None when `path` is valid for a document of `kind` ("json" or "xml"), else why not and the offset in
    `path` where it goes wrong (None when unknown)."""
    err = _path_problem(path, kind)
    return None if err is None else (str(err), err.offset)


def relational_problem(paths: str, kind: str) -> Optional[str]:
    """Why a RELATIONAL profile's `;`-list of repeating paths is not one table, or None."""
    return _relational_problem(paths, kind)


def known_types() -> frozenset[str]:
    return KNOWN_TYPES


def maps_type(name: str) -> bool:
    """True when `xs:type` `name` is one rsd maps on purpose (case-insensitive, aliases included)."""
    name = name.strip().lower()
    return name.removeprefix("xs:") in KNOWN_TYPES
