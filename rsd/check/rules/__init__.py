"""The rules of `rsd check`, one module per family of codes, each rule yielding diagnostics for one profile.

Owns: `RULES`, the one ordered list of rules. Each family module owns when its codes apply, their messages and
their did-you-mean hints: `structure` (1xx), `references` (2xx, 3xx), `paths` (4xx), `pagination` (5xx),
`credentials` (6xx: credentials and local files). Must not: run a profile, send a request, resolve `${...}`
references, or read anything but the profile given.

Every rule gets the `Facts` of the profile (facts.py): the walk with ancestors, every assignment, every name
declared or set. Rules are independent; `RULES` lists them in the order they run. A new rule is a function in
its family's module, one line here, its code in codes.py and a sample in tests/check_samples/.
"""
from __future__ import annotations

from .common import Rule, did_you_mean
from .credentials import rule_credentials, rule_local_files
from .pagination import rule_paging
from .paths import rule_data_model, rule_paths, rule_types
from .references import rule_templates
from .structure import rule_headers, rule_keywords, rule_structure

__all__ = ["RULES", "Rule", "did_you_mean"]

RULES: tuple[Rule, ...] = (
    rule_keywords,
    rule_structure,
    rule_headers,
    rule_templates,
    rule_paths,
    rule_types,
    rule_data_model,
    rule_paging,
    rule_credentials,
    rule_local_files,
)
