"""The interpreter: the executable statements a profile compiles into, and how each runs.

Owns: the semantics of every keyword of docs/reference/rsd-format.md §6 (set, setc, setm, unset, call, push, if/else,
check, equals, notequals, exists/notnull, null, select/case/default, enum, first/last, break/continue,
map, validate, throw, try/catch/finally), control attributes (`_attr`, `_value`, `_index`, `_code`,
`_desc`/`_description`, `_details`) and `action="break|continue"`. Must not: do HTTP or map bodies
itself (calls go to `operations.Operations`), write output (pushed rows go to `Exec.emit`).

Statements are built once per profile by `rsd.engine.compile` (the keyword -> statement table); templates
inside are compiled then, never per record. Run-time state lives in `Exec`, never in this module.
"""
from __future__ import annotations

import fnmatch
import re
from functools import partial
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Sequence, TypeVar, overload

from ..errors import InvalidInputError, Loc, OptionError, RsdError, ScriptThrow
from ..formatters import to_text
from ..provenance import DATA_TYPES, data_chooses_item, is_data, mark
from ..reader import ast
from ..template import Template, compile_template
from .items import Item, Scope

if TYPE_CHECKING:  # the statements are built by the compile step and run with a run's operations and state
    from ..mapping.types import Row
    from .compile import Compiler
    from .operations import Operations, PageItems, RequestKey
    from .runner import RunState

T = TypeVar("T")
#: the `api:catch` handlers of a try or a call: (code, body) pairs
Catches = tuple[tuple[str, tuple["Stmt", ...]], ...]


class Break(Exception):
    """`api:break`, or a conditional's `action="break"`: leave the enclosing call/enum."""


class Continue(Exception):
    """`api:continue`, or `action="continue"`: go on with the next iteration."""


class StopRun(BaseException):
    """Stop the whole run early (`--limit`, `--max-pages`). Not catchable by `api:catch`."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Exec:
    """Run-time state of one execution of a script: the scope, the output and the operations."""

    __slots__ = ("scope", "emit", "emit_many", "ops", "columns", "run", "profile_path")

    def __init__(self, scope: Scope, emit: Callable[[Row], object], ops: Operations,
                 columns: Sequence[str], run: RunState, profile_path: str,
                 emit_many: Optional[Callable[[list[Row]], object]] = None):
        self.scope = scope
        self.emit = emit  # emit(row_tuple)
        self.emit_many: Callable[[list[Row]], object] = \
            emit_many or (lambda rows: [emit(r) for r in rows])  # emit_many(list_of_rows)
        self.ops = ops
        self.columns = columns  # lower-case column names, in order
        self.run = run  # RunState: paging state, counters
        self.profile_path = profile_path


# one rendering rule for the whole program: the template language's
text_of = to_text


def truthy(value: object) -> bool:
    return text_of(value).strip().lower() == "true"


@overload
def _tpl(node: ast.Node, name: str, default: str, raw: bool = False) -> Template: ...


@overload
def _tpl(node: ast.Node, name: str, default: None = None, raw: bool = False) -> Optional[Template]: ...


def _tpl(node: ast.Node, name: str, default: Optional[str] = None, raw: bool = False) -> Optional[Template]:
    p = node.param(name)
    if p is None:
        return None if default is None else compile_template(default, node.loc, raw=raw)
    return compile_template(p.value, p.loc, raw=raw)


class MissingParameter(Exception):
    """A keyword lacks a parameter it cannot run without (`rsd check`'s RSD101, in a profile nobody checked: a
    `Profile` object handed to the library). The compile step turns the statement into one that refuses to run."""

    def __init__(self, node: ast.Node, *names: str):
        super().__init__(f"{node.tag} is missing its required parameter {names[0]!r}" if len(names) == 1 else
                         f"{node.tag} needs one of the parameters {' or '.join(repr(n) for n in names)}")


def _required(node: ast.Node, name: str) -> Template:
    """The template of parameter `name`, which `node` cannot run without (`MissingParameter` when it is absent)."""
    t = _tpl(node, name)
    if t is None:
        raise MissingParameter(node, name)
    return t


class Stmt:
    __slots__ = ("node",)

    def __init__(self, node: ast.Node):
        self.node = node

    def run(self, x: Exec) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def run_block(block: Sequence[Stmt], x: Exec) -> None:
    for s in block:
        s.run(x)


# --- setting attributes -------------------------------------------------------------------------

def _target(x: Exec, item_t: Optional[Template], name: str) -> tuple[Item, str]:
    """The item and attribute name an `api:set`-like statement writes."""
    scope = x.scope
    if item_t is not None:
        item_name = item_t.render(scope)
        if item_name:
            return scope.item_for_set(item_name), name
    dot = name.find(".")
    if dot > 0 and data_chooses_item(name):
        return scope.default, name  # a response value does not choose the item (or option) a profile writes
    if dot > 0:
        head = name[:dot]
        # the first dot separates item and attribute (docs/reference/rsd-format.md §5.2); items are created on
        # first set
        if ":" not in head and "#" not in head:
            return scope.item_for_set(head), name[dot + 1:]
    return scope.default, name


class Set(Stmt):
    __slots__ = ("attr", "item", "value", "copyfrom", "raw")

    def __init__(self, node: ast.Node, raw: bool = False):
        super().__init__(node)
        self.raw = raw
        self.attr = _tpl(node, "attr")
        self.item = _tpl(node, "item")
        p = node.param("value")
        self.value: Optional[Template]
        if p is not None:
            self.value = compile_template(p.value, p.loc, raw=raw)
        elif node.text is not None:
            self.value = compile_template(node.text.strip(), node.loc, raw=raw)
        else:
            self.value = None
        self.copyfrom = _tpl(node, "copyfrom")

    def run(self, x: Exec) -> None:
        scope = x.scope
        if self.copyfrom is not None and self.attr is None:
            src = scope.item(self.copyfrom.render(scope).lower())
            dst = scope.item_for_set(self.item.render(scope)) if self.item is not None else scope.default
            if src is not None:
                for k, v in src.items():
                    dst.set(k, mark(v) if src.data else v)  # copied out of a response, still data
            return
        name = self.attr.render(scope) if self.attr is not None else ""
        if not name:
            return
        value = self.value.evaluate(scope) if self.value is not None else ""
        item, attr = _target(x, self.item, name)
        item.set(attr, value)
        if attr.lower() == "rows@next":
            x.run.set_next(value)


class SetM(Stmt):
    """`api:setm`: body lines `name = value` set many attributes at once."""

    __slots__ = ("item", "pairs")

    def __init__(self, node: ast.Node):
        super().__init__(node)
        self.item = _tpl(node, "item")
        pairs: list[tuple[str, Template]] = []
        for n, line in enumerate((node.text or "").splitlines()):
            line = line.strip()
            if not line or "=" not in line:
                continue
            k, _, v = line.partition("=")
            loc = Loc(node.loc.path, node.loc.line + n, 1)
            pairs.append((k.strip(), compile_template(v.strip(), loc)))
        self.pairs = tuple(pairs)

    def run(self, x: Exec) -> None:
        for k, v in self.pairs:
            item, attr = _target(x, self.item, k)
            item.set(attr, v.evaluate(x.scope))


class Unset(Stmt):
    __slots__ = ("attr", "item")

    def __init__(self, node: ast.Node):
        super().__init__(node)
        self.attr = _required(node, "attr")
        self.item = _tpl(node, "item")

    def run(self, x: Exec) -> None:
        name = self.attr.render(x.scope)
        item, attr = _target(x, self.item, name)
        item.unset(attr)


class Map(Stmt):
    """`api:map to="dst" from="src" map="a=b, c=d"` (prefix wildcards `p:* = q:*`, `*=*`)."""

    __slots__ = ("to", "frm", "mapping")

    def __init__(self, node: ast.Node):
        super().__init__(node)
        self.to = _required(node, "to")
        self.frm = _tpl(node, "from")
        self.mapping = _tpl(node, "map", "*=*")

    def run(self, x: Exec) -> None:
        scope = x.scope
        dst = scope.item_for_set(self.to.render(scope))
        src = scope.item(self.frm.render(scope).lower()) if self.frm is not None else scope.default
        if src is None:
            return
        for pair in self.mapping.render(scope).split(","):
            if "=" not in pair:
                continue
            d, _, s = (p.strip() for p in pair.partition("="))
            if s.endswith("*"):
                sp, dp = s[:-1].lower(), d[:-1] if d.endswith("*") else d
                for k, v in list(src.items()):
                    if k.lower().startswith(sp):
                        dst.set(dp + k[len(sp):], mark(v) if src.data else v)
            else:
                v = src.get(s.lower())
                if v is not None:
                    dst.set(d, mark(v) if src.data else v)


# --- conditionals -------------------------------------------------------------------------------

_EXP_OPS = ("==", "!=", "<=", ">=", "<", ">")


def _split_exp(text: str) -> Optional[tuple[str, str, str]]:
    """Split `left OP right` at the first comparison operator outside brackets and quotes."""
    depth, quote, i = 0, None, 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
        elif c == "\\":
            i += 1
        elif c in "'\"" and depth == 0:
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth = max(0, depth - 1)
        elif depth == 0:
            for op in _EXP_OPS:
                if text.startswith(op, i):
                    return text[:i], op, text[i + len(op):]
        i += 1
    return None


def _unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        return s[1:-1]
    return s


def _as_number(s: str) -> Optional[float]:
    try:
        return float(s)
    except ValueError:
        return None


def compare(a: str, op: str, b: str) -> bool:
    """Numeric comparison when both sides are numbers, else text (docs/reference/rsd-format.md §13)."""
    na, nb = _as_number(a), _as_number(b)
    if na is not None and nb is not None:
        return _compare(na, op, nb)
    return _compare(a, op, b)


_Compared = TypeVar("_Compared", float, str)


def _compare(left: _Compared, op: str, right: _Compared) -> bool:
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == ">":
        return left > right
    if op == "<=":
        return left <= right
    return left >= right


class Conditional(Stmt):
    """Base of if/check/equals/notequals/exists/null: runs the body (minus `api:else`) when the test holds,
    the `api:else` bodies otherwise; with `action=break|continue` the action fires when the test holds."""

    __slots__ = ("then", "otherwise", "action", "attr", "item")

    def __init__(self, node: ast.Node, compiler: Compiler):
        super().__init__(node)
        self.then = compiler.block([n for n in node.body if not isinstance(n, ast.Else)])
        self.otherwise = compiler.block([c for n in node.body if isinstance(n, ast.Else) for c in n.body])
        self.action = (node.value("action") or "").strip().lower() or None
        self.attr = _tpl(node, "attr")
        self.item = _tpl(node, "item")

    def lookup(self, x: Exec) -> object:
        """The value of the attribute named by `attr` (in `item` when given)."""
        scope = x.scope
        name = self.attr.render(scope) if self.attr is not None else ""
        if not name:
            return None
        if self.item is not None:
            item = scope.item(self.item.render(scope).lower())
            return item.get(name.lower()) if item is not None else None
        return scope.resolve(name)

    def test(self, x: Exec) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, x: Exec) -> None:
        if self.test(x):
            if self.action == "break":
                raise Break()
            if self.action == "continue":
                raise Continue()
            run_block(self.then, x)
        elif self.otherwise:
            run_block(self.otherwise, x)


class If(Conditional):
    __slots__ = ("left", "op", "right", "value", "operator")

    def __init__(self, node: ast.Node, compiler: Compiler):
        super().__init__(node, compiler)
        self.left: Optional[Template] = None
        # `exp="left OP right"`: the operator and the right side (None: `exp` is a single value, true or not)
        self.op: Optional[tuple[str, Template]] = None
        p = node.param("exp")
        if p is not None:
            parts = _split_exp(p.value)
            if parts is None:
                self.left = compile_template(p.value.strip(), p.loc)
            else:
                left, op, right = parts
                self.left = compile_template(left.strip(), p.loc)
                self.op = (op, compile_template(right.strip(), p.loc))
        self.value = _tpl(node, "value")
        op = (node.value("operator") or "").strip().lower()
        self.operator = op or ("equals" if self.value is not None else "notnull")

    def test(self, x: Exec) -> bool:
        scope = x.scope
        if self.left is not None:
            left = _unquote(self.left.render(scope))
            if self.op is None:
                return left.strip().lower() == "true"
            op, right = self.op
            return compare(left.strip(), op, _unquote(right.render(scope)).strip())
        v = self.lookup(x)
        op = self.operator
        if op == "null":
            return v is None or v == ""
        if op == "notnull":
            return v is not None
        if op == "hasvalue":
            return v is not None and text_of(v) != ""
        want = self.value.render(scope) if self.value is not None else ""
        have = text_of(v)
        if op == "equals":
            return v is not None and have == want
        if op == "equalsignorecase":
            return v is not None and have.lower() == want.lower()
        if op == "notequals":
            return have != want
        if op in ("lessthan", "greaterthan"):
            if v is None:
                return False
            return compare(have, "<" if op == "lessthan" else ">", want)
        if op == "contains":
            return want in have
        raise RsdError(f"api:if: unknown operator {op!r}", loc=self.node.loc)


class Check(Conditional):
    __slots__ = ("value",)

    def __init__(self, node: ast.Node, compiler: Compiler):
        super().__init__(node, compiler)
        self.value = _tpl(node, "value")

    def test(self, x: Exec) -> bool:
        if self.value is not None:
            return truthy(self.value.render(x.scope))
        v = self.lookup(x)
        return v is not None and text_of(v) != ""


class Equals(Conditional):
    __slots__ = ("value", "ignore_case", "negate")

    def __init__(self, node: ast.Node, compiler: Compiler, negate: bool = False):
        super().__init__(node, compiler)
        self.value = _tpl(node, "value", "")
        self.ignore_case = (node.value("case") or "").lower() == "ignore"
        self.negate = negate

    def test(self, x: Exec) -> bool:
        v = self.lookup(x)
        if v is None and not self.negate:
            name = self.attr.render(x.scope) if self.attr is not None else ""
            raise ScriptThrow("api:equals", f"the attribute {name!r} does not exist", loc=self.node.loc)
        a, b = text_of(v), self.value.render(x.scope)
        if self.ignore_case:
            a, b = a.lower(), b.lower()
        return (a != b) if self.negate else (a == b)


class Exists(Conditional):
    __slots__ = ()

    def test(self, x: Exec) -> bool:
        v = self.lookup(x)
        return v is not None and text_of(v) != ""


class Null(Conditional):
    __slots__ = ()

    def test(self, x: Exec) -> bool:
        v = self.lookup(x)
        return v is None or text_of(v) == ""


def _pattern(p: Optional[ast.Param], kind: str, node: ast.Node) -> Template:
    """A compiled pattern: a template, or (a regex or glob written with `[...]` classes) the text as it is."""
    text = p.value if p is not None else ""
    loc = p.loc if p is not None else node.loc
    return compile_template(text, loc, raw=not ast.pattern_is_template(text, kind))


def matches(subject: str, kind: str, pattern: str, node: ast.Node) -> bool:
    """`api:case` / `api:match`: exact (equal text), regex (found anywhere in the subject, as .NET's
    `Regex.IsMatch`) or glob (`*.txt`, the whole subject)."""
    if kind == "regex":
        try:
            return re.search(pattern, subject) is not None
        except re.error as e:
            raise InvalidInputError(f"{node.loc}: {node.tag} {kind}: {pattern!r} is not a regular expression "
                                    f"({e})") from None
    if kind == "glob":
        return fnmatch.fnmatchcase(subject, pattern)
    return subject == pattern


class Match(Conditional):
    """`api:match pattern=".." type="exact|regex|glob" value=".."`: a conditional (op_rsbMatch)."""

    __slots__ = ("pattern", "kind", "value")

    def __init__(self, node: ast.Node, compiler: Compiler):
        super().__init__(node, compiler)
        p, self.kind = ast.pattern_of(node)
        self.pattern = _pattern(p, self.kind, node)
        self.value = _tpl(node, "value", "")

    def test(self, x: Exec) -> bool:
        scope = x.scope
        return matches(self.value.render(scope), self.kind, self.pattern.render(scope), self.node)


class Select(Stmt):
    __slots__ = ("subject", "by_attr", "cases", "default")

    def __init__(self, node: ast.Node, compiler: Compiler):
        super().__init__(node)
        # what is compared: `value`, else the value of the attribute `attr` names (one of the two is required)
        value, attr = _tpl(node, "value"), _tpl(node, "attr")
        if value is not None:
            self.subject, self.by_attr = value, False
        elif attr is not None:
            self.subject, self.by_attr = attr, True
        else:
            raise MissingParameter(node, "value", "attr")
        cases: list[tuple[Template, str, tuple[Stmt, ...], ast.Node]] = []
        default: tuple[Stmt, ...] = ()
        for n in node.body:
            if isinstance(n, ast.Case):
                p, kind = ast.pattern_of(n)
                cases.append((_pattern(p, kind, n), kind, compiler.block(n.body), n))
            elif isinstance(n, ast.Default):
                default = compiler.block(n.body)
        self.cases, self.default = tuple(cases), default

    def run(self, x: Exec) -> None:
        scope = x.scope
        subject = self.subject.render(scope)
        if self.by_attr:
            subject = text_of(scope.resolve(subject))
        for pattern_t, kind, body, case in self.cases:
            if matches(subject, kind, pattern_t.render(scope), case):
                run_block(body, x)
                return
        run_block(self.default, x)


# --- loops --------------------------------------------------------------------------------------

def _lookahead(it: Iterator[T]) -> Iterator[tuple[T, bool]]:
    """(element, is_last) pairs."""
    try:
        prev = next(it)
    except StopIteration:
        return
    for cur in it:
        yield prev, False
        prev = cur
    yield prev, True


class LoopBody:
    """The body of a call or enum: `api:first` runs first on the first iteration, `api:last` on the
    last, `api:catch` children are handlers (a call acts as an implicit try), the rest in order. In a
    call (`output=True`), `api:else` children run once when the call produced no item (the api:else page:
    "an alternate block of code within an api:call when the call fails to produce any output items")."""

    __slots__ = ("first", "last", "rest", "catches", "finals", "needs_last", "otherwise", "output", "loc")

    def __init__(self, node: ast.Node, compiler: Compiler, output: bool = False):
        self.loc = node.loc
        self.first = compiler.block([c for n in node.body if isinstance(n, ast.First) for c in n.body])
        self.last = compiler.block([c for n in node.body if isinstance(n, ast.Last) for c in n.body])
        self.rest = compiler.block([n for n in node.body
                                    if not isinstance(n, (ast.First, ast.Last, ast.Catch, ast.Finally, ast.Else))])
        self.catches = compiler.catches(node)
        self.finals = compiler.block([c for n in node.body if isinstance(n, ast.Finally) for c in n.body])
        self.needs_last = bool(self.last)
        self.output = output
        self.otherwise = compiler.block([c for n in node.body if isinstance(n, ast.Else) for c in n.body]) \
            if output else ()

    def iterate(self, x: Exec, items: Iterator[Item]) -> None:
        scope = x.scope
        source = _lookahead(items) if self.needs_last else ((i, False) for i in items)
        output = self.output
        produced = False
        tick = x.run.tick
        try:
            for index, (item, is_last) in enumerate(source):
                produced = True
                tick(self.loc)
                scope.push(item, output)
                try:
                    if index == 0 and self.first:
                        run_block(self.first, x)
                    run_block(self.rest, x)
                    if is_last and self.last:
                        run_block(self.last, x)
                except Continue:
                    pass
                except Break:
                    break
                finally:
                    scope.pop()
            if not produced and self.otherwise:
                run_block(self.otherwise, x)
        except RsdError as e:
            if not handle(self.catches, e, x):
                raise
        finally:
            if self.finals:
                run_block(self.finals, x)


def _error_code(e: RsdError) -> str:
    if isinstance(e, ScriptThrow):
        return e.code
    status = getattr(e, "status", None)
    return str(status) if status else type(e).__name__


def handle(catches: Catches, e: RsdError, x: Exec) -> bool:
    """Run the first `api:catch` whose code matches `e`; True when one did (never for an error that is not the
    profile's to handle, `catchable = False`: a replayed run that asks what was never recorded)."""
    if not e.catchable:
        return False
    code = _error_code(e)
    for want, body in catches:
        if want in ("*", "") or want.lower() == code.lower():
            item = Item("_catch", data=True)  # an error's text may quote the API's response: data
            desc = e.description if isinstance(e, ScriptThrow) else e.message
            item.set("_code", code)
            item.set("_desc", desc)
            item.set("_description", desc)
            item.set("_details", getattr(e, "details", "") or "")
            x.scope.push(item)
            try:
                run_block(body, x)
            finally:
                x.scope.pop()
            return True
    return False


class Call(Stmt):
    """`api:call op="..."`: runs an operation; the body runs once per item of the returned feed."""

    __slots__ = ("op", "input", "output", "body", "fast_push", "nested")

    def __init__(self, node: ast.Node, compiler: Compiler, push_each: bool = False):
        super().__init__(node)
        self.op = _required(node, "op")
        self.input = _tpl(node, "in") or _tpl(node, "input")
        self.output = _tpl(node, "out") or _tpl(node, "output")
        self.body = LoopBody(node, compiler, output=True)
        # `<api:call><api:push/></api:call>` and `<api:push op=.../>`: rows go straight to the output
        plain = [n for n in node.body if not isinstance(n, (ast.Catch, ast.Finally))]
        self.fast_push = push_each or (
            len(plain) == 1 and isinstance(plain[0], ast.Push) and not plain[0].params and not plain[0].body
        )
        # the body calls an operation again (a child request per item): its requests may be sent ahead
        self.nested = any(isinstance(n, ast.Call) or (isinstance(n, ast.Push) and n.param("op") is not None)
                          for n in _walk(node.body))

    def run(self, x: Exec) -> None:
        scope = x.scope
        op = self.op.render(scope)
        in_item = None
        if self.input is not None:
            name = self.input.render(scope)
            in_item = scope.item(name.lower()) if name else None
        out_name = self.output.render(scope) if self.output is not None else ""
        try:
            if self.fast_push and not out_name:
                emit_many = x.emit_many
                for page in x.ops.pages(x, op, in_item, self.node):
                    emit_many(page)
                return
        except RsdError as e:
            if not handle(self.body.catches, e, x):
                raise
            return
        page_items = x.ops.items(x, op, in_item, self.node, out_name or "_")
        items: Iterator[Item] = page_items
        if self.nested and x.ops.fetcher.concurrent and x.ops.plan_hook is None and x.run.limit is None \
                and x.run.max_pages is None:  # `--limit`/`--max-pages` may end the run at any item: none sent ahead
            items = _sending_ahead(x, page_items, self.body, out_name)
        if out_name:
            items = _keep_last(items, scope, out_name)
        self.body.iterate(x, items)


def _sending_ahead(x: Exec, items: PageItems, body: LoopBody, out_name: str) -> Iterator[Item]:
    """The items of a call whose body calls again (a child request per row), with the child requests of the next
    items of the page sent ahead (`--concurrency`, at most that many): before an item's body runs, the body runs for
    each of the next items on copies of the items, rows dropped, up to its first request, which is sent ahead
    (`Operations.speculate`). The real body uses a response only when it sends exactly that request, so rows and
    their order are those of `--concurrency 1`; one it did not use is counted and dropped after it ran."""
    ops = x.ops
    window = ops.fetcher.concurrency
    keys: dict[int, Optional[RequestKey]] = {}
    for index, item in enumerate(items):
        for offset, later in enumerate(items.upcoming(window - 1), 1):
            if index + offset not in keys:
                keys[index + offset] = ops.speculate(partial(_body_until_request, x, body, later, out_name))
        yield item
        key = keys.pop(index, None)
        if key is not None:
            ops.drop_prefetched(key)


def _body_until_request(x: Exec, body: LoopBody, item: Item, out_name: str) -> None:
    """A call body for `item` as its turn would run it, on copies of the scope's items (see `_sending_ahead`)."""
    scope = x.scope.copy()
    mine = item.copy()
    if out_name:
        scope.named[out_name.lower()] = mine
    scope.push(mine, True)
    run_block(body.rest, Exec(scope, lambda row: None, x.ops, x.columns, type(x.run)(None), x.profile_path,
                              lambda rows: None))


def _walk(nodes: Sequence[ast.Node]) -> Iterator[ast.Node]:
    for n in nodes:
        yield n
        yield from _walk(n.body)


def _keep_last(items: Iterator[Item], scope: Scope, name: str) -> Iterator[Item]:
    """A named output item stays reachable after the call (`[out.attr]`), holding the last item."""
    for item in items:
        scope.named[name.lower()] = item
        yield item


class Push(Stmt):
    __slots__ = ("item", "call")

    def __init__(self, node: ast.Node, compiler: Compiler):
        super().__init__(node)
        self.item = _tpl(node, "item")
        self.call = Call(node, compiler, push_each=True) if node.param("op") is not None else None

    def run(self, x: Exec) -> None:
        if self.call is not None:
            self.call.run(x)
            return
        scope = x.scope
        item = scope.default
        if self.item is not None:
            name = self.item.render(scope)
            found = scope.item(name.lower()) if name else None
            if found is None:
                return
            item = found
        get = item.get
        row = [get(c) for c in x.columns]
        if not DATA_TYPES.isdisjoint(map(type, row)):
            row = [str.__str__(v) if type(v) in DATA_TYPES else v for v in row]  # out of the engine: plain text
        x.emit(tuple(row))


class Enum(Stmt):
    __slots__ = ("item", "attr", "list", "sep", "range", "prefix", "expand", "body")

    def __init__(self, node: ast.Node, compiler: Compiler):
        super().__init__(node)
        self.item = _tpl(node, "item")
        self.attr = _tpl(node, "attr")
        self.list = _tpl(node, "list")
        sep = node.value("separator") or node.value("sep")
        self.sep = sep if sep is not None else "\n"
        self.range = _tpl(node, "range")
        self.prefix = node.value("prefix")
        self.expand = (node.value("expand") or "").lower() == "true"
        self.body = LoopBody(node, compiler)

    def _pairs(self, x: Exec) -> Iterator[tuple[str, object]]:
        scope = x.scope
        if self.range is not None:
            spec = self.range.render(scope)
            a, _, b = spec.partition("..")
            a, b = a.strip(), b.strip()
            if a.lstrip("-").isdigit() and b.lstrip("-").isdigit():
                lo, hi = int(a), int(b)
                step = 1 if hi >= lo else -1
                for number in range(lo, hi + step, step):
                    yield str(number), number
            elif len(a) == 1 and len(b) == 1:
                lo, hi = ord(a), ord(b)
                step = 1 if hi >= lo else -1
                for code in range(lo, hi + step, step):
                    yield chr(code), chr(code)
            return
        if self.list is not None:
            text = self.list.render(scope)
            data = is_data(text)  # a list with response data in it: each part is data
            for part in text.split(self.sep):
                yield part, (mark(part) if data else part)
            return
        if self.item is not None:
            item = scope.item(self.item.render(scope).lower())
            if item is None:
                return
            for name, value in sorted(item.items(), key=lambda kv: kv[0].lower()):
                if self.prefix and not name.lower().startswith(self.prefix.lower() + ":"):
                    continue
                yield name, (mark(value) if item.data else value)
            return
        if self.attr is not None:
            name = self.attr.render(scope)
            owner, lname = scope.split(name)
            items = [owner] if owner is not None else list(reversed(scope.stack))
            if lname.endswith("*"):
                for it in items:
                    for k, v in sorted(it.items(), key=lambda kv: kv[0].lower()):
                        if fnmatch.fnmatchcase(k.lower(), lname):
                            yield k, (mark(v) if it.data else v)
                    return
            for it in items:
                n = it.get(lname + "#") if "#" not in lname else None
                if type(n) is int and n:  # the number of values (`Item.get` of `attr#`)
                    for i in range(1, n + 1):
                        v = it.get(f"{lname}#{i}")
                        yield f"{name}#{i}", (mark(v) if it.data else v)
                    return

    def run(self, x: Exec) -> None:
        def items() -> Iterator[Item]:
            for index, (name, value) in enumerate(self._pairs(x)):
                item = Item("_enum")
                item.set("_attr", name)
                item.set("_value", value)
                item.set("_index", index)
                yield item
        self.body.iterate(x, items())


class Break_(Stmt):
    __slots__ = ()

    def run(self, x: Exec) -> None:
        raise Break()


class Continue_(Stmt):
    __slots__ = ()

    def run(self, x: Exec) -> None:
        raise Continue()


# --- errors -------------------------------------------------------------------------------------

class Validate(Stmt):
    """`api:validate attr=...`: a missing attribute ends the run (exit 2), naming it; a missing
    `_connection.X` names the connection option to pass."""

    __slots__ = ("attr", "item", "code", "desc")

    def __init__(self, node: ast.Node):
        super().__init__(node)
        self.attr = _required(node, "attr")
        self.item = _tpl(node, "item")
        self.code = node.value("code") or "api:validate"
        self.desc = _tpl(node, "desc") or _tpl(node, "description")

    def run(self, x: Exec) -> None:
        scope = x.scope
        name = self.attr.render(scope)
        if self.item is not None:
            item = scope.item(self.item.render(scope).lower())
            value = item.get(name.lower()) if item is not None else None
            full = f"{self.item.render(scope)}.{name}"
        else:
            value = scope.resolve(name)
            full = name
        if value is not None and text_of(value) != "":
            return
        desc = self.desc.render(scope) if self.desc is not None else ""
        lname = full.lower()
        if lname.startswith("_connection.") or lname.startswith("_input."):
            name = full.split(".", 1)[1]
            what, flag, error = (("connection option", "-o", OptionError) if lname.startswith("_connection.")
                                 else ("input", "-i", InvalidInputError))
            how = f"pass it with {flag} {name}=VALUE"
            # the profile's own description often says how already; do not say it twice
            told = f"{flag} {name}=".lower() in desc.lower()
            raise error(f"{self.node.loc}: the profile requires the {what} {name!r}"
                        + (f" ({desc})" if desc else "") + ("" if told else f"; {how}"))
        raise InvalidInputError(f"{self.node.loc}: api:validate failed: {full!r} is not set"
                                + (f" ({desc})" if desc else "") + f" [code {self.code}]")


class Throw(Stmt):
    __slots__ = ("code", "desc", "details")

    def __init__(self, node: ast.Node):
        super().__init__(node)
        self.code = _tpl(node, "code", "")
        self.desc = _tpl(node, "desc") or _tpl(node, "description") or compile_template("", node.loc)
        self.details = _tpl(node, "details", "")

    def run(self, x: Exec) -> None:
        s = x.scope
        raise ScriptThrow(self.code.render(s), self.desc.render(s), self.details.render(s), loc=self.node.loc)


class Try(Stmt):
    __slots__ = ("body", "catches", "finals")

    def __init__(self, node: ast.Node, compiler: Compiler):
        super().__init__(node)
        self.body = compiler.block([n for n in node.body if not isinstance(n, (ast.Catch, ast.Finally))])
        self.catches = compiler.catches(node)
        self.finals = compiler.block([c for n in node.body if isinstance(n, ast.Finally) for c in n.body])

    def run(self, x: Exec) -> None:
        try:
            run_block(self.body, x)
        except RsdError as e:
            if not handle(self.catches, e, x):
                raise
        finally:
            run_block(self.finals, x)


class Unsupported(Stmt):
    """A statement that refuses to run, saying `why` (`error`: the kind of error it raises)."""

    __slots__ = ("why", "error")

    def __init__(self, node: ast.Node, why: str, error: type[RsdError] = RsdError):
        super().__init__(node)
        self.why = why
        self.error = error

    def run(self, x: Exec) -> None:
        raise self.error(f"{self.node.loc}: {self.why}")


class Nothing(Stmt):
    __slots__ = ()

    def run(self, x: Exec) -> None:
        pass


class Seq(Stmt):
    __slots__ = ("body",)

    def __init__(self, node: ast.Node, body: tuple[Stmt, ...]):
        super().__init__(node)
        self.body = body

    def run(self, x: Exec) -> None:
        run_block(self.body, x)
