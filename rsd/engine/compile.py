"""The compile step: a profile's AST statements -> executable statements, once per profile.

Owns: the table from keyword node type to the statement that runs it (`STATEMENTS`), and `compile_script`,
which the runner calls once per run. Keywords a profile may not use here (`api:include`) compile to a statement
that refuses at run time; misplaced ones (`api:else` outside a conditional) to nothing, `rsd check` reports them.
Must not: run statements, or read anything but the AST.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from ..errors import ProfileError
from ..reader import ast
from .interpreter import (
    Break_,
    Call,
    Catches,
    Check,
    Continue_,
    Enum,
    Equals,
    Exists,
    If,
    Map,
    Match,
    MissingParameter,
    Nothing,
    Null,
    Push,
    Select,
    Seq,
    Set,
    SetM,
    Stmt,
    Throw,
    Try,
    Unset,
    Unsupported,
    Validate,
)


class Compiler:
    """Turns AST statements into `Stmt` objects, once per profile."""

    def block(self, nodes: Sequence[ast.Node]) -> tuple[Stmt, ...]:
        return tuple(s for s in (self.stmt(n) for n in nodes) if not isinstance(s, Nothing))

    def catches(self, node: ast.Node) -> Catches:
        return tuple(((n.value("code") or "*").strip(), self.block(n.body))
                     for n in node.body if isinstance(n, ast.Catch))

    def stmt(self, n: ast.Node) -> Stmt:
        make = STATEMENTS.get(type(n))
        if make is None:
            # api:else/api:case/api:default outside their parent, api:catch/api:finally outside a try, unknown
            # keywords: `rsd check` reports them; at run time they do nothing
            return Nothing(n)
        try:
            return make(n, self)
        except MissingParameter as e:  # `rsd check` reports it too; run, it says what is missing (exit 2)
            return Unsupported(n, str(e), ProfileError)


_INCLUDE_REFUSED = "api:include is not supported: rsd does not let a profile read other files"

# keyword node type -> compiled statement
STATEMENTS: dict[type[ast.Node], Callable[[ast.Node, Compiler], Stmt]] = {
    ast.Set: lambda n, c: Set(n),
    ast.SetC: lambda n, c: Set(n, raw=True),
    ast.SetM: lambda n, c: SetM(n),
    ast.Unset: lambda n, c: Unset(n),
    ast.Call: Call,
    ast.Push: Push,
    ast.If: If,
    ast.Check: Check,
    ast.Equals: Equals,
    ast.NotEquals: lambda n, c: Equals(n, c, negate=True),
    ast.Match: Match,
    ast.Exists: Exists,
    ast.Null: Null,
    ast.Select: Select,
    ast.Enum: Enum,
    ast.Break: lambda n, c: Break_(n),
    ast.Continue: lambda n, c: Continue_(n),
    ast.Map: lambda n, c: Map(n),
    ast.Validate: lambda n, c: Validate(n),
    ast.Throw: lambda n, c: Throw(n),
    ast.Try: Try,
    ast.Include: lambda n, c: Unsupported(n, _INCLUDE_REFUSED),
    # a nested api:script, and api:first/api:last outside a loop, run their body once
    ast.Script: lambda n, c: Seq(n, c.block(n.body)),
    ast.First: lambda n, c: Seq(n, c.block(n.body)),
    ast.Last: lambda n, c: Seq(n, c.block(n.body)),
}




def compile_script(profile: ast.Profile, method: Optional[ast.Method]) -> tuple[tuple[Stmt, ...], tuple[Stmt, ...]]:
    """The global statements of a profile and the body of one of its `api:script method=...` blocks (none: a
    script without method blocks runs its global statements only)."""
    compiler = Compiler()
    return compiler.block(profile.statements), compiler.block(method.body) if method is not None else ()
