"""Mapping: response documents (JSON, XML, CSV) -> typed rows.

Owns: parsing bodies (`documents`), compiling paths (`paths`), the DOCUMENT, FLATTENEDDOCUMENTS and RELATIONAL data
models (`models`) and `xs:type` coercion (`types`); everything compiled once per profile. Must not: know
about HTTP or evaluate templates (paths arrive rendered).

    doc = parse_document(body, "json", source="GET https://api.example.com/x page 1")
    mapper = compile_mapper(info.columns, repeat_paths="$.records", data_model="DOCUMENT", kind="json")
    coerce = compile_coercer(info.columns)
    rows = [coerce(r) for r in mapper.rows(doc)]
"""
from .documents import Document, parse_document
from .models import (KNOWN_DATA_MODELS, SUPPORTED_DATA_MODELS, Mapper, compile_mapper, normalize_data_model,
                     relational_problem)
from .paths import PathError, compile_value_path, path_problem, split_paths, validate_path
from .types import (CANONICAL_TYPES, KNOWN_TYPES, TYPE_ALIASES, CoercionError, Coercer, coerce_value,
                    compile_coercer, normalize_type)

__all__ = [
    "Document", "parse_document",
    "Mapper", "compile_mapper", "SUPPORTED_DATA_MODELS", "KNOWN_DATA_MODELS", "normalize_data_model",
    "relational_problem",
    "compile_value_path", "validate_path", "path_problem", "split_paths", "PathError",
    "compile_coercer", "Coercer", "coerce_value", "normalize_type", "CoercionError",
    "KNOWN_TYPES", "TYPE_ALIASES", "CANONICAL_TYPES",
]
