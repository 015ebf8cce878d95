"""Authoring: `rsd init`, a profile written from one sample page of an API (docs/reference/contract.md §10).

Owns: the whole of `rsd init` as a library call (`init_profile`): get the sample (`sample`: one page fetched with
a run's options and credentials, or a saved JSON or XML response), choose the repeating element and infer the
columns (`shape`), detect the paging (`detect`), write the profile with comments saying where each value came
from (`render`), and check it as `rsd check --strict` would. Must not: print, prompt or write files (the command
line does, `rsd.commands`); the choice among several repeating elements is the caller's `choose` callback.

    result = init_profile("https://api.example.com/v1/customers", options=[("OAuthAccessToken", "${env:TOKEN}")])
    Path("Customers.rsd").write_text(result.text)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence
from urllib.parse import urlsplit

from ..errors import Diagnostic, InvalidInputError
from ..http.redact import Redactor
from .detect import PagingPlan, detect_paging
from .render import render_profile, uri_value
from .sample import Sample, fetch_sample, is_url, read_sample
from .shape import Candidate, Field, candidate_for, candidates, infer_fields, records_of

__all__ = ["Candidate", "Field", "InitResult", "PagingPlan", "Sample", "init_profile"]

Chooser = Callable[[Sequence[Candidate]], Candidate]


@dataclass
class InitResult:
    """What `rsd init` made: the profile's `text` and how it got there."""

    text: str
    title: str
    source: str  # where the sample came from, redacted
    candidates: list[Candidate]
    chosen: Candidate
    fields: list[Field]
    paging: Optional[PagingPlan]
    notes: list[str] = field(default_factory=list)  # what the user should know (credentials, guesses)
    problems: list[Diagnostic] = field(default_factory=list)  # `rsd check --strict` findings (none expected)


def init_profile(source: str, *, options: Sequence[tuple[str, str]] = (), options_file: Optional[str] = None,
                 connection: Optional[str] = None, variables: Optional[Mapping[str, str]] = None,
                 repeat: Optional[str] = None, name: Optional[str] = None, url: Optional[str] = None,
                 choose: Optional[Chooser] = None, redactor: Optional[Redactor] = None,
                 trace: Optional[Callable[[str], None]] = None,
                 base_dir: str = ".") -> InitResult:
    """A profile for the API page at `source` (a URL, fetched with `options` as `rsd run` would send it) or in a
    saved response file (`url`: where it came from, for the profile's URI). `repeat` picks the repeating element;
    without it the shallowest is taken, or `choose(candidates)` decides when there are several. `name` is the
    profile's title (default: from the URL's last path step or the file's name)."""
    redactor = redactor if redactor is not None else Redactor()
    if is_url(source):
        sample = fetch_sample(source, options=options, options_file=options_file, connection=connection,
                              variables=variables, redactor=redactor, trace=trace, base_dir=base_dir)
    else:
        sample = read_sample(source, url=url)
        if options or options_file or connection:
            from ..api import resolve_options
            opts = resolve_options(options=options, options_file=options_file, connection=connection,
                                   variables=variables, redactor=redactor, base_dir=base_dir)
            sample.option_names, sample.base_url = tuple(opts.keys()), opts.get("BaseURL")
    doc = sample.doc
    found = candidates(doc)
    if repeat:
        chosen = candidate_for(doc, repeat)
    elif not found:
        if doc.kind == "json" and doc.root.__class__ is dict:
            chosen = Candidate("$", (), 1)  # one object: the whole document is the row
        else:
            raise InvalidInputError(f"{sample.describe(redactor)} holds no records (no array of objects, no repeated "
                                    f"element with fields); pass --repeat PATH")
    elif len(found) > 1 and choose is not None:
        chosen = choose(found)
    else:
        chosen = found[0]
    records = records_of(doc, chosen)
    title = name or default_title(sample)
    fields = infer_fields(doc, chosen, records, title)
    if not fields:
        raise InvalidInputError(f"the records at {chosen.path} have no fields to make columns of")
    paging = detect_paging(sample, chosen, records)
    uri, notes = uri_value(sample)
    if paging is not None and any("guess" in e for e in paging.evidence):
        notes.append("a paging parameter name is a guess from the page (see the comment above the paging lines): "
                     "check it in the API's documentation")
    others = [c for c in found if c.path != chosen.path]
    text = render_profile(title=title, sample=sample, chosen=chosen, others=others, fields=fields, paging=paging,
                          uri=uri, redactor=redactor)
    return InitResult(text, title, sample.describe(redactor), found, chosen, fields, paging, notes,
                      problems=_check(text, name_hint=title))


def default_title(sample: Sample) -> str:
    """The URL's last path step (`/api/accounts` -> `accounts`, `inventory.xml` -> `inventory`) or the file's stem."""
    if sample.url:
        steps = [s for s in urlsplit(sample.url).path.split("/") if s]
        raw = steps[-1] if steps else urlsplit(sample.url).hostname or ""
    else:
        raw = Path(sample.file or "records").name
    raw = raw.split(".")[0] if "." in raw else raw
    title = re.sub(r"[^A-Za-z0-9_]+", "_", raw).strip("_")
    return title or "Records"


def _check(text: str, name_hint: str) -> list[Diagnostic]:
    from ..check import check_profile
    from ..reader import read_text

    return check_profile(read_text(text, f"{name_hint}.rsd"))
