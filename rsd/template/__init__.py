"""The template language of keyword parameters: `literal [item.attr | formatter(args)] text`.

Owns: the grammar (grammar/template.lark), compiling a value once into a `Template` (cached), and
rendering it against a scope (anything with `resolve(name) -> object | None`). Must not: know how
items are stored or do HTTP. See docs/decisions.md "Templates and formatters" for the rules chosen
where the public record is silent (escapes, missing values, number rendering).
"""
from .compiler import MAX_DEPTH, TemplateSyntaxError, grammar_path
from .placeholders import placeholders, substitute_placeholders
from .template import Template, compile_template

__all__ = [
    "compile_template",
    "Template",
    "TemplateSyntaxError",
    "placeholders",
    "substitute_placeholders",
    "grammar_path",
    "MAX_DEPTH",
]
