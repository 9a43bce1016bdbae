"""The shared analysis every rule reads: one walk over the stdlib `ast`.

The walk records, in source order, every call, binding, augmented assignment and loop
together with its context (enclosing function, loops, `if` branches, grad-disabled
block). Rules never walk the tree themselves; they query this index. That keeps the
cost of adding a rule close to zero and the whole analysis near the cost of
`ast.parse` (see `nnlint.bench`).

Name resolution follows TorchFix's idea (every callee is resolved to a qualified torch
name through the file's imports) without its whole-module libcst metadata.
"""

from __future__ import annotations

import ast
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter
from pathlib import Path
from typing import Callable, Iterator, Protocol, TypeVar

_A = TypeVar("_A")

from nnlint.libraries import libraries_only
from nnlint.torchnames import CLIP_FUNCTIONS
from nnlint.vocabulary import MODE_METHODS, RECEIVER_EFFECTS, is_scaled_loss, steps_through_scaler

# Conventional aliases assumed only when the file never binds the name itself
# (fragments and notebook cells often rely on imports made elsewhere).
CONVENTIONAL_ALIASES = {
    "torch": "torch",
    "nn": "torch.nn",
    "F": "torch.nn.functional",
    "optim": "torch.optim",
}


class ModuleLookup(Protocol):
    """What the index asks of the other modules of a project (`nnlint.project.ProjectIndex`,
    which builds a `Semantic` for each of them, so the index names only this much of it)."""

    root: Path

    def function(self, qualname: str, importer: Path | None) -> "Scope | None": ...

    def class_info(self, qualname: str, importer: Path | None) -> "tuple[Semantic, ClassInfo] | None": ...

    def torch_alias(self, qualname: str, importer: Path | None) -> str | None: ...

    def foreign_callers(self, path: Path, name: str) -> "list[tuple[CallSite, Semantic]]": ...


GRAD_DISABLING = frozenset(
    {
        "torch.no_grad",
        "torch.inference_mode",
        "torch.autograd.no_grad",
        "torch.autograd.grad_mode.no_grad",
        "torch.autograd.grad_mode.inference_mode",
    }
)

# Tensor methods and functions that keep the nature of a value (probabilities stay
# probabilities after a squeeze); value tracing looks through them.
SHAPE_METHODS = frozenset(
    {
        "squeeze", "unsqueeze", "view", "reshape", "flatten", "contiguous", "float",
        "double", "half", "bfloat16", "to", "cpu", "cuda", "permute", "transpose",
        "clone", "type", "view_as", "reshape_as", "t", "type_as", "resize", "resize_as",
        "round",  # rounded probabilities are still on the probability scale, not logits
    }
)
# nn.Module methods that return the module itself: `net.to(device).train()` switches `net`.
MODULE_SELF_METHODS = frozenset(
    {
        "to", "cuda", "cpu", "float", "double", "half", "bfloat16", "type", "train", "eval",
        "requires_grad_", "share_memory", "apply", "to_empty", "xpu", "ipu", "mtia",
    }
)


def called_module(func: ast.expr) -> ast.expr:
    """The object a call runs: `model` for `model.forward(x)` and `model.__call__(x)`,
    which run its forward like `model(x)`; `func` itself otherwise."""
    if type(func) is ast.Attribute and func.attr in ("forward", "__call__"):
        return func.value
    return func


def module_itself(expr: ast.expr) -> ast.expr:
    """`net.to(device).cuda()` -> `net`: the receiver under self-returning module methods."""
    while type(expr) is ast.Call and type(expr.func) is ast.Attribute and expr.func.attr in MODULE_SELF_METHODS:
        expr = expr.func.value
    return expr


SHAPE_FUNCTIONS = frozenset(
    {
        "torch.squeeze", "torch.unsqueeze", "torch.flatten", "torch.reshape",
        "torch.permute", "torch.transpose", "torch.round",
    }
)

@dataclass(eq=False, repr=False, slots=True)
class Binding:
    """One assignment of a name (or a dotted attribute such as `self.criterion`)."""

    name: str
    value: ast.expr | None
    stmt: ast.AST
    scope: "Scope"
    line: int
    kind: str = "assign"  # assign | param | loop | with | import | unpack
    param_index: int | None = None
    # For `b, c, t = x.shape`: the unpacked expression and this name's position in it.
    unpacked_from: ast.expr | None = None
    unpack_index: int | None = None
    # The conditional arms the binding sits in, outer first: (id of the if/loop/try/match,
    # arm), as `CallSite.branches` (the walker's; a parameter's are empty).
    branches: tuple[tuple[int, str], ...] = ()


@dataclass(eq=False, repr=False)
class Loop:
    node: ast.For | ast.AsyncFor | ast.While
    scope: "Scope"
    parent: "Loop | None"
    calls: list["CallSite"] = field(default_factory=list)

    @property
    def line(self) -> int:
        return self.node.lineno

    def encloses(self, other: "Loop | None") -> bool:
        while other is not None:
            if other is self:
                return True
            other = other.parent
        return False


@dataclass(eq=False, repr=False, slots=True, init=False)
class CallSite:
    node: ast.Call
    scope: "Scope"
    loops: tuple[Loop, ...]
    grad_block: ast.AST | None  # the enclosing no_grad/inference_mode `with` or decorated def
    stmt: ast.stmt
    block: list[ast.stmt]  # the statement list that holds `stmt`
    branches: tuple[tuple[int, str], ...]  # (id of if/try node, which arm) from outer to inner
    method: str | None = None  # `backward` for `loss.backward()`; None for plain calls
    receiver: ast.expr | None = None  # `loss` for `loss.backward()`

    # Written out (not generated with a __post_init__): one is made for every call of the file.
    def __init__(self, node: ast.Call, scope: "Scope", loops: tuple[Loop, ...], grad_block: ast.AST | None,
                 stmt: ast.stmt, block: list[ast.stmt], branches: tuple[tuple[int, str], ...],
                 method: str | None = None, receiver: ast.expr | None = None) -> None:
        self.node = node
        self.scope = scope
        self.loops = loops
        self.grad_block = grad_block
        self.stmt = stmt
        self.block = block
        self.branches = branches
        func = node.func
        if type(func) is ast.Attribute:
            method, receiver = func.attr, func.value
        self.method = method
        self.receiver = receiver

    @property
    def line(self) -> int:
        return self.node.lineno

    @property
    def pos(self) -> tuple[int, int]:
        return (self.node.lineno, self.node.col_offset)

    @property
    def loop(self) -> Loop | None:
        return self.loops[-1] if self.loops else None

    def exclusive_with(self, other: "CallSite") -> bool:
        """True when the two calls sit in different arms of the same `if`/`try`."""
        arms = dict(self.branches)
        return any(key in arms and arms[key] != arm for key, arm in other.branches)


@dataclass(eq=False, repr=False)
class AugAssign:
    node: ast.AugAssign | ast.Assign
    target: str
    value: ast.expr
    scope: "Scope"
    loops: tuple[Loop, ...]
    grad_block: ast.AST | None


@dataclass(eq=False, repr=False)
class Scope:
    """The module or one function: its bindings, calls and loops in source order."""

    node: ast.AST
    name: str
    parent: "Scope | None"
    cls: "ClassInfo | None" = None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    calls: list[CallSite] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)
    augassigns: list[AugAssign] = field(default_factory=list)
    returns: list[ast.Return] = field(default_factory=list)
    return_branches: dict[int, tuple[tuple[int, str], ...]] = field(default_factory=dict)  # id(return) -> its arms
    params: list[str] = field(default_factory=list)
    grad_disabled: bool = False  # decorated with no_grad / inference_mode
    owner: "Semantic | None" = None  # the module index this scope belongs to
    is_generator: bool = False  # contains `yield` / `yield from`

    @property
    def is_function(self) -> bool:
        return self.parent is not None

    @property
    def line(self) -> int:
        return getattr(self.node, "lineno", 1)

    def add_binding(self, binding: Binding) -> None:
        self.bindings.setdefault(binding.name, []).append(binding)

    def reaching(self, name: str, line: int, arms: tuple[tuple[int, str], ...] | None) -> list[Binding] | None:
        """The bindings of `name` in this scope that may hold at a statement on `line` whose
        arms are `arms` (the walker's, as `Binding.branches`), last first. Going back from
        `line`, it keeps each binding that a later one does not overwrite on every path
        through it, and stops at one that surely ran on the way to the statement: one in no
        `if` arm, loop body or `except` handler that the statement is not in too. An `if`
        whose two arms both bind counts as such a binding. A `try` body always runs, so it
        is no arm. None when `arms` are not known, or a binding was made by no statement of
        the scope's own blocks, or nothing binds `name` before `line`."""
        if arms is None:
            return None
        target = conditional_arms(arms)
        found: list[Binding] = []
        overwritten: list[tuple[tuple[int, str], ...]] = []  # places a later binding covers
        arms_binding: dict[tuple[tuple[tuple[int, str], ...], int], set[str]] = {}
        for binding in reversed(self.bindings.get(name, [])):
            if binding.line >= line:
                continue
            if binding.kind != "param" and not isinstance(binding.stmt, ast.stmt):
                return None
            place = conditional_arms(binding.branches)
            if any(place[:len(done)] == done for done in overwritten):
                continue  # a later binding runs after it wherever it runs
            found.append(binding)
            if target[:len(place)] == place:
                return found  # it ran whenever the statement runs: nothing earlier survives it
            overwritten.append(place)
            while place and place[-1][1] in ("body", "else"):  # an arm of an `if`
                outer, node_id = place[:-1], place[-1][0]
                bound = arms_binding.setdefault((outer, node_id), set())
                bound.add(place[-1][1])
                if len(bound) < 2:
                    break
                # both arms bind: the `if` as a whole does, like a binding just outside it
                if target[:len(outer)] == outer:
                    return found
                overwritten.append(outer)
                place = outer
        return found or None


def conditional_arms(branches: tuple[tuple[int, str], ...]) -> tuple[tuple[int, str], ...]:
    """The arms of `branches` that may not run: a `try` body does (up to an exception, whose
    handler is an arm of its own)."""
    return tuple(arm for arm in branches if arm[1] != "try")


@dataclass(eq=False, repr=False)
class ClassInfo:
    node: ast.ClassDef
    bases: list[str]
    methods: dict[str, Scope] = field(default_factory=dict)
    attrs: dict[str, list[Binding]] = field(default_factory=dict)
    self_reads: dict[str, int] = field(default_factory=dict)  # how often methods read `self.<attr>`

    @property
    def name(self) -> str:
        return self.node.name


@dataclass
class Origin:
    """Where a value was made, with the bindings followed to get there."""

    expr: ast.expr
    hops: list[Binding]
    scope: Scope


def _rows_of(binding: "Binding") -> ast.expr | None:
    """For `for row in tensor:` (one plain name over a name or attribute), `tensor`."""
    stmt = binding.stmt
    if type(stmt) not in (ast.For, ast.AsyncFor) or type(stmt.target) is not ast.Name:  # type: ignore[attr-defined]
        return None
    iterable = stmt.iter  # type: ignore[attr-defined]
    return iterable if type(iterable) in (ast.Name, ast.Attribute) else None


def dotted(node: ast.AST) -> str | None:
    """`self.model.fc` -> "self.model.fc"; None for anything but names and attributes.

    Rules ask this of the same nodes many times, so the answer is kept on the node.
    """
    # getattr with a default: cheaper than `node.__dict__.get`, and a miss raises nothing
    cached = getattr(node, "_nnlint_dotted", _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[no-any-return]
    kind = type(node)
    if kind is ast.Name:
        result: str | None = node.id  # type: ignore[attr-defined]
    elif kind is ast.Attribute:
        base = dotted(node.value)  # type: ignore[attr-defined]
        result = None if base is None else f"{base}.{node.attr}"  # type: ignore[attr-defined]
    else:
        result = None
    node._nnlint_dotted = result  # type: ignore[attr-defined]
    return result


_MISSING = object()


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def argument(call: ast.Call, index: int, name: str) -> ast.expr | None:
    """The argument given positionally at `index` or by keyword `name`."""
    value = keyword(call, name)
    if value is not None:
        return value
    if index < len(call.args) and not any(type(a) is ast.Starred for a in call.args[: index + 1]):
        return call.args[index]
    return None


def constant_value(node: ast.expr | None) -> object:
    """The Python value of a literal (including negative numbers), else None."""
    if node is None:
        return None
    if type(node) is ast.Constant:
        return node.value
    if type(node) is ast.UnaryOp and type(node.op) is ast.USub and type(node.operand) is ast.Constant:
        value = node.operand.value
        if isinstance(value, (int, float)):
            return -value
    return None


class _CallNames(dict):  # type: ignore[type-arg]
    """Call node -> the qualified name of its callee, resolved on the first ask. Keyed by
    the node itself (the index holds the tree anyway); it knows its index only weakly, so
    it adds no reference cycle for release() to break."""

    __slots__ = ("_owner",)

    def __init__(self, owner: "Semantic") -> None:
        super().__init__()
        self._owner = weakref.ref(owner)

    def __missing__(self, call: ast.Call) -> str | None:
        owner = self._owner()
        if owner is None:  # a lookup kept past its index's life: nothing to resolve with
            return None
        name = self[call] = owner.qualname(call.func)
        return name


class Semantic:
    """The index of one module. Build with `Semantic.build(tree)`."""

    def __init__(self, tree: ast.Module, path: "Path | None" = None, project: "ModuleLookup | None" = None) -> None:
        self.tree = tree
        self.path = path
        self.project = project
        # other modules this analysis read, with the version of each it saw
        self.dependencies: dict[Path, object] = {}
        self.version: object = None  # set by the project index for the modules it holds
        self._project_aliases: dict[str, str | None] = {}
        self.module = Scope(tree, "<module>", None)
        self.module.owner = self
        self.imports: dict[str, str] = {}
        # modules imported with `from m import *` (as written, ".model" for a relative one):
        # a package's `__init__.py` re-exports its modules' names this way
        self.star_imports: list[str] = []
        self.scopes: list[Scope] = [self.module]
        self.functions: dict[str, list[Scope]] = {}
        self.classes: dict[str, ClassInfo] = {}
        self.calls: list[CallSite] = []
        self.loops: list[Loop] = []
        self.augassigns: list[AugAssign] = []
        # `totals[key] += value`: a sum kept in an item of a container (a dict of running
        # totals per loss term); target is the container's dotted name followed by `[...]`
        self.item_augassigns: list[AugAssign] = []
        # `p.grad = None` and friends, with the loops around them
        self.grad_assignments: list[tuple[ast.AST, tuple[Loop, ...], Scope]] = []
        # every `<expr>.attr = value` (also `model.layers[0].attr = ...`), in source order
        self.attribute_assignments: list[tuple[ast.Attribute, ast.expr | None, ast.AST, Scope]] = []
        # statements that only read an attribute (`model.eval` without `()`), with their scope and loops
        self.bare_attributes: list[tuple[ast.Expr, Scope, tuple[Loop, ...]]] = []
        self.scope_of_node: dict[int, Scope] = {}
        self._module_names: set[str] = set()
        self._effects_cache: dict[int, list[tuple[str, str, CallSite]]] = {}
        # analyses built on this index (Training, Values...), one per kind: see analysis()
        self._analyses: dict[type, object] = {}
        self._site_effects_cache: dict[CallSite, list[tuple[str, str, CallSite]]] = {}
        # origin()'s answers: rules and analyses ask the same question (the optimizer of a
        # step, a loss's input) again and again; the index does not change once built
        self._origins: dict[tuple[ast.expr, Scope, int, bool, int], Origin] = {}
        self._call_names = _CallNames(self)
        # Rules ask call_name ~10 times per call site: on an instance, it is the cache's own
        # lookup (a C call on a hit; `_CallNames.__missing__` resolves a new call once).
        self.call_name: Callable[[ast.Call], str | None] = self._call_names.__getitem__  # type: ignore[method-assign]

    @classmethod
    def build(cls, tree: ast.Module, path: "Path | None" = None, project: "ModuleLookup | None" = None) -> "Semantic":
        semantic = cls(tree, path, project)
        _Walker(semantic).run()
        return semantic

    def analysis(self, kind: "type[_A]") -> "_A":
        """The shared analysis `kind(self)` of this module, built on first use and kept with the
        index, so every rule of a check reads the same facts. release() drops them with the rest."""
        found = self._analyses.get(kind)
        if found is None:
            found = kind(self)  # type: ignore[call-arg]
            self._analyses[kind] = found
        return found  # type: ignore[return-value]

    def release(self) -> None:
        """Break the index's reference cycles (scopes <-> calls <-> loops) so that its
        memory returns as soon as the last reference goes, without waiting for the cyclic
        collector: a language server analyses on every keystroke."""
        for scope in self.scopes:
            scope.calls.clear()
            scope.loops.clear()
            scope.bindings.clear()
            scope.augassigns.clear()
            scope.returns.clear()
            scope.return_branches.clear()
            scope.owner = None
            scope.parent = None
            scope.cls = None
        for loop in self.loops:
            loop.calls.clear()
            loop.parent = None
        for info in self.classes.values():
            info.methods.clear()
            info.attrs.clear()
        self.calls.clear()
        self.loops.clear()
        self.scopes.clear()
        self.augassigns.clear()
        self.item_augassigns.clear()
        self.grad_assignments.clear()
        self.attribute_assignments.clear()
        self.bare_attributes.clear()
        self.classes.clear()
        self.functions.clear()
        self.scope_of_node.clear()
        for name in [n for n in self.__dict__ if n.startswith("_") and n not in ("_call_names",)]:
            value = self.__dict__[name]
            if isinstance(value, (dict, list, set)):
                value.clear()
            else:
                self.__dict__[name] = None
        self.__dict__.pop("_training", None)
        self.__dict__.pop("_nnlint_values", None)

    # ------------------------------------------------------------------ names
    def qualname(self, node: ast.AST | None) -> str | None:
        """Resolve a name or attribute chain through the file's imports.

        `F.softmax` -> "torch.nn.functional.softmax"; a local name stays as written.
        """
        if node is None:
            return None
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        resolved = self.imports.get(head)
        if resolved is None and head not in self._module_names:
            resolved = CONVENTIONAL_ALIASES.get(head)
        if resolved is None:
            return name
        if self.project is not None and not resolved.startswith("torch"):
            resolved = self._project_alias(head, resolved)
        return f"{resolved}.{rest}" if rest else resolved

    def _project_alias(self, head: str, resolved: str) -> str:
        """An imported project name that merely re-exports a torch name resolves to it."""
        if head not in self._project_aliases:
            alias = self.project.torch_alias(resolved, self.path) if self.project is not None else None
            self._project_aliases[head] = alias
        return self._project_aliases[head] or resolved

    # ----------------------------------------------------------- other modules
    def imported_function(self, call: ast.Call) -> "Scope | None":
        """The function of another project module that `call` runs (None when unknown)."""
        return self.imported_function_named(self.call_name(call))  # qualname(call.func), kept per call

    def imported_function_named(self, name: str | None) -> "Scope | None":
        """The function of another project module that the resolved name (`d2l.linreg`, as
        `qualname` gives it) refers to; None when unknown."""
        if self.project is None or name is None or name.startswith("torch") or "." not in name or (
                not self._is_imported(name)):
            return None
        function = self.project.function(name, self.path)
        if function is not None and function.owner is not None and function.owner.path is not None:
            self._depend_on(function.owner)
        return function

    def name_reads(self, scope: Scope) -> dict[str, int]:
        """How often each name is read in `scope` (nested functions included). A walk of
        that one function, made on demand (only fixes and rare checks ask) and kept."""
        cache: dict[int, dict[str, int]] = self.__dict__.setdefault("_name_reads", {})
        found = cache.get(id(scope))
        if found is None:
            found = {}
            for node in ast.walk(scope.node):
                if type(node) is ast.Name and type(node.ctx) is ast.Load:
                    found[node.id] = found.get(node.id, 0) + 1
            cache[id(scope)] = found
        return found

    def _is_imported(self, qualname: str) -> bool:
        """Whether a resolved name comes from an import (not a local `inputs.to`)."""
        roots = self.__dict__.get("_imported_roots")
        if roots is None:
            roots = self.__dict__["_imported_roots"] = {
                target.split(".")[0] if not target.startswith(".") else "." for target in self.imports.values()
            }
        return ("." if qualname.startswith(".") else qualname.split(".")[0]) in roots

    def _depend_on(self, other: "Semantic") -> None:
        if other.path is not None and other is not self:
            self.dependencies[other.path] = other.version
            self.dependencies.update(other.dependencies)

    def find_class(self, name: str | None) -> "tuple[Semantic, ClassInfo] | None":
        """The class a (qualified) name refers to, here or in another project module."""
        if not name:
            return None
        info = self.classes.get(name)
        if info is not None:
            return self, info
        if self.project is None or "." not in name or name.startswith("torch") or not self._is_imported(name):
            return None
        found = self.project.class_info(name, self.path)
        if found is not None and found[0].path is not None:
            self._depend_on(found[0])
        return found

    def decorator_disables_grad(self, decorator: ast.expr, scope: Scope) -> bool:
        """Whether `decorator` on function `scope` is a project function that applies
        `torch.inference_mode`/`torch.no_grad` itself (yolov5's `@smart_inference_mode()`):
        what its body uses, not its name, decides. Asked lazily: it may read another module."""
        call = decorator if type(decorator) is ast.Call else ast.Call(func=decorator, args=[], keywords=[])
        if type(call.func) not in (ast.Name, ast.Attribute):
            return False
        for function in self.resolve_function(call, scope.parent or self.module):
            owner = function.owner or self
            if any(type(node) in (ast.Name, ast.Attribute) and owner.qualname(node) in GRAD_DISABLING
                   for node in ast.walk(function.node)):
                return True
        return False

    def site_of(self, call: ast.Call) -> CallSite | None:
        """The call site recorded for `call` (None for a call outside the analysed code)."""
        table = self.__dict__.get("_sites_by_call")
        if table is None:
            table = self.__dict__["_sites_by_call"] = {id(site.node): site for site in self.calls}
        return table.get(id(call))

    def all_call_names(self) -> list[str | None]:
        """`call_name` of every call of the file, in the order of `calls`, resolved in one loop
        (not one `_CallNames.__missing__` per call): what the call index asks first."""
        known = self._call_names
        qualname = self.qualname
        names: list[str | None] = []
        for site in self.calls:
            node = site.node
            name = known.get(node, _MISSING)
            if name is _MISSING:
                name = known[node] = qualname(node.func)
            names.append(name)  # type: ignore[arg-type]
        return names

    def call_name(self, call: ast.Call) -> str | None:  # type: ignore[no-redef]
        """The qualified name of the callee of `call` (`qualname(call.func)`), kept per call.
        Each index replaces this method with its cache's lookup (see `__init__`)."""
        return self._call_names[call]

    # ------------------------------------------------------------- spelling
    def imported_as(self, *qualnames: str) -> str | None:
        """The local name of the file's first import of one of `qualnames`, if any."""
        for local, target in self.imports.items():
            if target in qualnames:
                return local
        return None

    def spelling(self, qualname: str) -> str | None:
        """How this file spells `qualname` (for a fix to write it in the file's own import
        style): its imported name, else the imported name of its nearest parent module with
        the rest appended (`torch.nn` is `nn` after `from torch import nn`, `torch.nn` after
        `import torch`). None when nothing of it is imported."""
        parts = qualname.split(".")
        for cut in range(len(parts), 0, -1):
            local = self.imported_as(".".join(parts[:cut]))
            if local is not None:
                return ".".join([local, *parts[cut:]])
        return None

    # --------------------------------------------------------------- bindings
    def lookup(self, name: str, scope: Scope, line: int) -> Binding | None:
        """The binding of `name` that reaches `line` in `scope` (or an enclosing scope)."""
        current: Scope | None = scope
        first = True
        while current is not None:
            bindings = current.bindings.get(name)
            if bindings:
                if first:
                    # the last binding made before `line` (a parameter always is)
                    for binding in reversed(bindings):
                        if binding.line < line or binding.kind == "param":
                            return binding
                    # A use inside a loop may see a binding made later in the body.
                    if any(loop.node.lineno <= line for loop in current.loops):
                        return bindings[-1]
                else:
                    return bindings[-1]
            if name.startswith("self.") and current.cls is not None:
                attrs = current.cls.attrs.get(name[5:])
                if attrs:
                    init = [b for b in attrs if b.scope.name == "__init__"]
                    return (init or attrs)[-1]
            first = False
            current = current.parent
        return None

    def origin(self, expr: ast.expr, scope: Scope, line: int, through_shape_ops: bool = True,
               max_hops: int = 12) -> Origin:
        """Follow names, attributes and shape-preserving ops back to where a value was made.

        Each answer is kept with the index (keyed by the node itself, never by an id that a
        later node could take) and shared by whoever asks again: callers read it, never change it."""
        key = (expr, scope, line, through_shape_ops, max_hops)
        found = self._origins.get(key)
        if found is None:
            found = self._origins[key] = self._origin(expr, scope, line, through_shape_ops, max_hops)
        return found

    def _origin(self, expr: ast.expr, scope: Scope, line: int, through_shape_ops: bool, max_hops: int) -> Origin:
        hops: list[Binding] = []
        current_scope = scope
        for _ in range(max_hops):
            kind = type(expr)
            if kind is ast.Name or kind is ast.Attribute:
                name = dotted(expr)
                if name is None:
                    break
                binding = self.lookup(name, current_scope, line)
                if through_shape_ops and binding is not None and binding.kind == "loop":
                    rows = _rows_of(binding)
                    if rows is not None:
                        # `for out in outputs:` rows of a tensor are what the tensor is (its
                        # probabilities stay probabilities); other iterables end the search
                        hops.append(binding)
                        expr, line, current_scope = rows, binding.line, binding.scope
                        continue
                if binding is None or binding.value is None:
                    if binding is not None:
                        hops.append(binding)
                    break
                hops.append(binding)
                expr = binding.value
                line = binding.line
                current_scope = binding.scope
                continue
            if through_shape_ops and (kind is ast.Subscript or kind is ast.Call):
                operand = self.shape_operand(expr)
                if operand is not None:
                    expr = operand
                    continue
            break
        return Origin(expr, hops, current_scope)

    def shape_operand(self, expr: ast.expr) -> ast.expr | None:
        """The tensor a shape-preserving op reads (`y` in `y.view(...)`, `y[..., 0]`,
        `torch.flatten(y)`), one step; None for anything else."""
        kind = type(expr)
        if kind is ast.Subscript:
            return expr.value  # type: ignore[attr-defined]
        if kind is ast.Call:
            func = expr.func  # type: ignore[attr-defined]
            if type(func) is ast.Attribute and func.attr in SHAPE_METHODS and (
                self.qualname(func.value) or ""
            ).split(".")[0] != "torch":
                return func.value
            if self.qualname(func) in SHAPE_FUNCTIONS and expr.args:  # type: ignore[attr-defined]
                return expr.args[0]  # type: ignore[attr-defined]
        return None

    def constructed_class(self, expr: ast.expr, scope: Scope, line: int, depth: int = 0) -> str | None:
        """Qualified name of the class whose instance `expr` holds (through helpers too)."""
        found = self.origin(expr, scope, line, through_shape_ops=False)
        # `Net().to(device)`, `Net().cuda().train()`: module methods that return the module
        value = module_itself(found.expr)
        if value is not found.expr and type(value) in (ast.Name, ast.Attribute) and found.hops and depth < 3:
            # `model = model.to(device)`: the module the name held before this assignment
            return self.constructed_class(value, found.scope, found.hops[-1].line, depth + 1)
        if type(value) is not ast.Call:
            return None
        name = self.call_name(value)
        if name is None:
            return None
        if depth < 3:
            for function in self.resolve_function(value, found.scope, depth + 1):
                owner = function.owner or self
                made = {owner.constructed_class(ret.value, function, ret.lineno, depth + 1)
                        for ret in function.returns if ret.value is not None}
                made.discard(None)
                if len(made) > 1:
                    return None  # returns of different classes (an optimizer or a scheduler): unknown
                if made:
                    return owner._export_name(made.pop())  # type: ignore[arg-type]
        return name

    def declared_return(self, function: Scope) -> str | None:
        """The class a function's return annotation names (`-> nn.Module` gives
        "torch.nn.Module"), when it is a torch class or a class of the project; None for no
        annotation, a string, `Optional[...]` or any other type. A declaration, for what
        the returns cannot show (`def get_layer(hparams) -> nn.Module:` that builds its layer
        from a class name held in data)."""
        node = function.node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.returns is None:
            return None
        annotation = node.returns
        if type(annotation) not in (ast.Name, ast.Attribute):
            return None
        name = self.qualname(annotation)
        if name is None or not (name.startswith("torch.") or self.find_class(name) is not None):
            return None
        return name

    def isinstance_class(self, name: str, site: CallSite) -> str | None:
        """The class an enclosing `if isinstance(name, C):` proves `name` to hold at `site`
        (C's qualified name), when `name` is bound to nothing new between the test and the
        call. `isinstance(x, (A, B))` proves no single class; an `elif`/`else` arm proves
        nothing."""
        for node_id, arm in site.branches:  # from the outermost `if` in
            node = self.if_statement(node_id) if arm == "body" else None
            if node is None:
                continue
            tested = _isinstance_of(node.test, name)
            if tested is None or self.lookup(name, site.scope, node.lineno) is not self.lookup(
                    name, site.scope, site.line):
                continue
            qualified = self.qualname(tested)
            if qualified is not None:
                return qualified
        return None

    def if_statement(self, node_id: int) -> ast.If | None:
        """The `if` statement a `branches` entry names by id (`CallSite.branches`,
        `Binding.branches`); None for a loop, `try` or `match` arm."""
        return self._if_statements.get(node_id)

    @cached_property
    def _if_statements(self) -> dict[int, ast.If]:
        # one walk, on the first question (rare shapes ask): the walker itself records none
        return {id(node): node for node in ast.walk(self.tree) if type(node) is ast.If}

    # --------------------------------------------------------------- functions
    def resolve_function(self, call: ast.Call, scope: Scope, depth: int = 0) -> list[Scope]:
        """Same-file functions or methods a call may run (empty when unknown). `depth` bounds
        the mutual recursion with `constructed_class` (`a = f(); b = a.g()` chains)."""
        func = call.func
        if type(func) is ast.Name:
            if func.id in self.imports:
                imported = self.imported_function(call)
                return [imported] if imported is not None else []
            return list(self.functions.get(func.id, []))
        if type(func) is not ast.Attribute:
            return []
        if func.attr not in self._method_names and (self.project is None or self._imports_libraries_only):
            # Without other modules (none given, or none this file's imports can reach) a
            # method call can only run a method of this file's classes: most
            # `x.view()`/`loss.item()` calls are answered without tracing `x`.
            return []
        if type(func.value) is ast.Name and func.value.id == "self":
            cls = scope.cls
            if cls is not None:
                seen: set[str] = set()
                while cls is not None and cls.name not in seen:
                    seen.add(cls.name)
                    method = cls.methods.get(func.attr)
                    if method is not None:
                        return [method]
                    cls = next((self.classes[b] for b in cls.bases if b in self.classes), None)
        else:
            head = dotted(func.value)
            if head is not None and head.partition(".")[0] in self.imports:
                imported = self.imported_function(call)
                return [imported] if imported is not None else []
            owner = self.constructed_class(func.value, scope, call.lineno, depth + 1) if depth < 3 else None
            found = self.find_class(owner)
            if found is not None and func.attr in found[1].methods:
                return [found[1].methods[func.attr]]
        return []

    def _export_name(self, name: str) -> str:
        """How a name made in this module is seen from others: local classes get their
        module's qualified name so the importer can find them again."""
        if name in self.classes and self.path is not None and self.project is not None:
            return f"{_module_name(self.project.real_path(self.path), self.project.root)}.{name}"
        return name

    def callers(self, function: Scope) -> list[CallSite]:
        return self._callers.get(id(function), [])

    def foreign_callers(self, function: Scope) -> list[CallSite]:
        """Calls of `function` written in the project's other modules (see
        `ProjectIndex.foreign_callers`): for a module-level function, the calls of it; for
        the `__init__` of a module-level class, the calls that build the class. Each site's
        scope belongs to its own module's index (`site.scope.owner`)."""
        if self.project is None or self.path is None:
            return []
        if function.cls is None and function.parent is self.module:
            name = function.name
        elif (function.name == "__init__" and function.cls is not None
              and self.classes.get(function.cls.name) is function.cls and function.cls.node in self.tree.body):
            name = function.cls.name
        else:
            return []
        cache: dict[int, list[CallSite]] = self.__dict__.setdefault("_foreign_callers", {})
        found = cache.get(id(function))
        if found is None:
            found = []
            for site, owner in self.project.foreign_callers(self.path, name):
                if owner is not self:
                    self._depend_on(owner)
                    found.append(site)
            # the callers' view of this very module (resolved once per path by the index)
            for own in {self.path, self.project.real_path(self.path)}:
                self.dependencies.pop(own, None)
            cache[id(function)] = found
        return found

    @cached_property
    def _imports_libraries_only(self) -> bool:
        """Whether every import of the file names a library root that the project index never
        looks for in the project (`nnlint.libraries`): then no name of the file leads to
        another module's function or class (see `ProjectIndex.stands_alone`)."""
        return libraries_only(self.imports.values())

    @cached_property
    def _method_names(self) -> set[str]:
        """The names of every method of this file's classes (a set, which release() empties)."""
        names: set[str] = set()
        for info in self.classes.values():
            names.update(info.methods)
        return names

    @cached_property
    def _callers(self) -> dict[int, list[CallSite]]:
        table: dict[int, list[CallSite]] = {}
        names = set(self.functions) | self._method_names
        for site in self.calls:
            func = site.node.func
            attr = func.id if type(func) is ast.Name else func.attr if type(func) is ast.Attribute else None
            if attr is None or attr not in names:
                continue
            for target in self.resolve_function(site.node, site.scope):
                table.setdefault(id(target), []).append(site)
        return table

    def is_module_class(self, name: str | None, _seen: frozenset[str] = frozenset()) -> bool:
        """Whether a class (here or in another project module) derives, directly or
        not, from an nn.Module-like base."""
        found = self.find_class(name)
        if found is None:
            return False
        owner, info = found
        if info.name in _seen:
            return False
        for base in info.bases:
            if base.startswith("torch.nn.") or base.endswith(("Module", "LightningModule", "PreTrainedModel")):
                return True
            if owner.is_module_class(base, _seen | {info.name}):
                return True
        return False

    def enclosing_class(self, scope: Scope) -> ClassInfo | None:
        while scope is not None:
            if scope.cls is not None:
                return scope.cls
            scope = scope.parent  # type: ignore[assignment]
        return None

    def scope_of(self, node: ast.AST) -> Scope | None:
        return self.scope_of_node.get(id(node))

    def iter_functions(self) -> Iterator[Scope]:
        return (scope for scope in self.scopes if scope.is_function)

    # ---------------------------------------------------------------- effects
    def param_key(self, expr: ast.expr | None, scope: Scope) -> str | None:
        """A stable key for an object expression: "model", "self.model", "#0.fc" for param 0."""
        if expr is None:
            return None
        name = dotted(expr)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if scope.is_function and head in scope.params and head != "self":
            index = scope.params.index(head)
            return f"#{index}" + (f".{rest}" if rest else "")
        alias = _alias_of(head, scope)
        if alias is not None:
            # `model = run.model`: the local is the attribute it aliases, for mode and
            # gradient events alike
            target = self.param_key(alias, scope)
            if target is not None and target != head:
                return target + (f".{rest}" if rest else "")
        return name

    def effects(self, function: Scope, _stack: tuple[int, ...] = ()) -> list[tuple[str, str, CallSite]]:
        """Mode and gradient effects of running `function`, in order, following helpers.

        Each effect is (kind, key, site): kind in eval/train/zero_grad/clear_grad/backward/
        scaled_backward/unscale/clip/step; key names the object as seen from the function's caller ("#0" = first param).
        """
        cached = self._effects_cache.get(id(function))
        if cached is not None:
            return cached
        if id(function) in _stack or len(_stack) > 4:
            return []
        result: list[tuple[str, str, CallSite]] = []
        for site in function.calls:
            result.extend(self.site_effects(site, _stack + (id(function),)))
        if function.calls and any(scope is function for _, _, scope in self.grad_assignments):
            result.append(("clear_grad", "*", function.calls[0]))
        self._effects_cache[id(function)] = result
        return result

    def site_effects(self, site: CallSite, _stack: tuple[int, ...] = ()) -> list[tuple[str, str, CallSite]]:
        """The effects of one call, with helper effects mapped onto the caller's names."""
        cached = self._site_effects_cache.get(site)
        if cached is None:
            cached = self._site_effects_cache[site] = self._compute_site_effects(site, _stack)
        return cached

    def _compute_site_effects(self, site: CallSite, _stack: tuple[int, ...]) -> list[tuple[str, str, CallSite]]:
        call = site.node
        method = site.method
        scope = site.scope
        if self.call_name(call) in CLIP_FUNCTIONS:
            return [("clip", "*", site)]
        if method is not None and type(site.receiver) is ast.Name and site.receiver.id == "self":
            cls = self.enclosing_class(scope)
            if cls is not None and not self.is_module_class(cls.name) and self.resolve_function(call, scope):
                method = None  # a trainer's own `self.backward(loss)`: what its body does is the effect
        if method is not None:
            receiver = site.receiver
            if method in MODE_METHODS and receiver is not None:
                receiver = module_itself(receiver)
            # The receiver's key only for the methods that have an effect on it (most method
            # calls, `x.view()`, `loss.item()`, have none: their key was never read)
            if method == "train":
                key = self.param_key(receiver, scope) or "?"
                mode = argument(call, 0, "mode")
                if mode is not None and constant_value(mode) is False:
                    return [("eval", key, site)]
                return [("train", key, site)]
            if method == "backward" and is_scaled_loss(receiver):
                # `scaler.scale(loss).backward()`: gradients multiplied by the loss scale
                key = self.param_key(receiver, scope) or "?"
                return [("backward", key, site), ("scaled_backward", key, site)]
            if method == "unscale_" and call.args:
                return [("unscale", self.param_key(call.args[0], scope) or "?", site)]
            if method == "step" and call.args and steps_through_scaler(receiver):
                return [("step", self.param_key(call.args[0], scope) or "?", site)]
            if method == "zero_" and type(receiver) is ast.Attribute and receiver.attr == "grad":
                return [("clear_grad", self.param_key(receiver, scope) or "?", site)]
            kinds = RECEIVER_EFFECTS.get(method)
            if kinds is not None:
                key = self.param_key(receiver, scope) or "?"
                return [(kind, key, site) for kind in kinds]
        targets = self.resolve_function(call, scope)
        if not targets:
            return []
        target = targets[0]
        mapped: list[tuple[str, str, CallSite]] = []
        for kind, key, _inner in (target.owner or self).effects(target, _stack):
            caller_key = self.caller_key(target, key, site)
            if caller_key is not None:
                mapped.append((kind, caller_key, site))
        return mapped

    def caller_key(self, callee: Scope, key: str, site: CallSite) -> str | None:
        """A key seen inside `callee` ("#0.fc": its first parameter's `fc`) as the caller
        at `site` names it ("net.fc"); keys of globals and `self.x` stay as they are."""
        if not key.startswith("#"):
            head, _, rest = key.partition(".")
            if head != "self" and callee.is_function and _own_object(callee.bindings.get(head, ())):
                # The callee's own object (`for model in models:`, `loss = crit(...)`): its
                # events still happen, under a key no name of the caller can match.
                return f"<{callee.name}>.{key}"
            if _encloses(site.scope, callee):
                # A closure's free variable is the defining function's own name for it
                # (`model`, a parameter of `validate`, is "#1" there).
                mapped = self.param_key(ast.Name(id=head), site.scope)
                return (mapped or head) + (f".{rest}" if rest else "")
            return key
        index_text, _, rest = key[1:].partition(".")
        index = int(index_text)
        name = callee.params[index] if index < len(callee.params) else ""
        offset = 1 if callee.params[:1] == ["self"] else 0
        arg = argument(site.node, index - offset, name) if index - offset >= 0 else keyword(site.node, name)
        mapped = self.param_key(arg, site.scope) if arg is not None else None
        if mapped is None:
            return None
        return mapped + (f".{rest}" if rest else "")


def _alias_of(name: str, scope: Scope) -> ast.expr | None:
    """For a function local bound exactly once, to another object's attribute
    (`model = run.model`, `net = self.net`): that attribute expression."""
    if not scope.is_function:
        return None
    bindings = scope.bindings.get(name)
    if not bindings or len(bindings) != 1:
        return None
    value = bindings[0].value
    if bindings[0].kind != "assign" or type(value) is not ast.Attribute:
        return None
    base = value
    while type(base) is ast.Attribute:
        base = base.value
    if type(base) is not ast.Name or base.id == name:
        return None
    return value


def _own_object(bindings: "list[Binding] | tuple[()]") -> bool:
    """Whether a function-local name holds an object of the function's own: a loop
    variable, or something it builds. (`model = self.model` is an alias, which keeps the
    name-to-name mapping between caller and callee.)"""
    return bool(bindings) and all(
        b.kind == "loop" or (b.kind == "assign" and type(b.value) is ast.Call) for b in bindings
    )


def _encloses(outer: Scope, inner: Scope) -> bool:
    """Whether `inner` is defined (at any depth) inside function `outer`."""
    if not outer.is_function:
        return False
    current = inner.parent
    while current is not None:
        if current is outer:
            return True
        current = current.parent
    return False


class _Walker:
    """Builds a `Semantic` index in one recursive pass."""

    def __init__(self, semantic: Semantic) -> None:
        self.sem = semantic
        self.scope = semantic.module
        self.loops: tuple[Loop, ...] = ()
        self.grad_block: ast.AST | None = None
        self.stmt: ast.stmt | None = None
        self.block: list[ast.stmt] = []
        self.branches: tuple[tuple[int, str], ...] = ()
        self.cls: ClassInfo | None = None

    def run(self) -> None:
        self.visit_block(self.sem.tree.body)
        # Calls are collected depth-first; order them by completion, the order they run in.
        # One stable sort of all of them, then each scope and loop takes its own in that order
        # (the same lists as sorting each one by itself, for a fraction of the cost).
        calls = self.sem.calls
        try:  # end positions read in C (a parsed tree has them all)...
            ordered = sorted(calls, key=_END_POSITION)
        except TypeError:  # ...a tree built by hand may lack some: read them with fallbacks
            ordered = sorted(calls, key=_completion)
        calls[:] = ordered
        for site in calls:
            site.scope.calls.append(site)
            for loop in site.loops:
                loop.calls.append(site)

    # -- statements
    def visit_block(self, body: list[ast.stmt]) -> None:
        saved_block, saved_stmt = self.block, self.stmt
        self.block = body
        for stmt in body:
            self.stmt = stmt
            self.visit_stmt(stmt)
        self.block, self.stmt = saved_block, saved_stmt

    def visit_arm(self, node: ast.AST, arm: str, body: list[ast.stmt]) -> None:
        saved = self.branches
        self.branches = saved + ((id(node), arm),)
        self.visit_block(body)
        self.branches = saved

    def visit_stmt(self, stmt: ast.stmt) -> None:
        kind = type(stmt)
        if kind is ast.Expr:
            if type(stmt.value) is ast.Attribute:
                self.sem.bare_attributes.append((stmt, self.scope, self.loops))
            self.visit_expr(stmt.value)
        elif kind is ast.Assign:
            self.visit_expr(stmt.value)
            for target in stmt.targets:
                self.bind_target(target, stmt.value, stmt)
            if len(stmt.targets) == 1 and type(stmt.value) is ast.BinOp and type(stmt.value.op) is ast.Add:
                target_name = dotted(stmt.targets[0])
                if target_name is not None and dotted(stmt.value.left) == target_name:
                    self.add_aug(stmt, target_name, stmt.value.right)
        elif kind is ast.AugAssign:
            self.visit_expr(stmt.value)
            target_name = dotted(stmt.target)
            if target_name is not None and type(stmt.op) is ast.Add:
                self.add_aug(stmt, target_name, stmt.value)
            elif type(stmt.target) is ast.Subscript and type(stmt.op) is ast.Add:
                container = dotted(stmt.target.value)
                if container is not None:
                    self.sem.item_augassigns.append(
                        AugAssign(stmt, f"{container}[...]", stmt.value, self.scope, self.loops, self.grad_block))
            self.visit_expr(stmt.target)
        elif kind is ast.AnnAssign:
            if stmt.value is not None:
                self.visit_expr(stmt.value)
                self.bind_target(stmt.target, stmt.value, stmt)
        elif kind is ast.Return:
            if stmt.value is not None:
                self.visit_expr(stmt.value)
            self.scope.returns.append(stmt)
            self.scope.return_branches[id(stmt)] = self.branches
        elif kind is ast.For or kind is ast.AsyncFor:
            self.visit_expr(stmt.iter)
            self.bind_target(stmt.target, None, stmt, kind="loop")
            self.visit_loop(stmt)
        elif kind is ast.While:
            self.visit_expr(stmt.test)
            self.visit_loop(stmt)
        elif kind is ast.If:
            self.visit_expr(stmt.test)
            self.visit_arm(stmt, "body", stmt.body)
            self.visit_arm(stmt, "else", stmt.orelse)
        elif kind is ast.With or kind is ast.AsyncWith:
            self.visit_with(stmt)
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            self.visit_function(stmt)
        elif kind is ast.ClassDef:
            self.visit_class(stmt)
        elif kind is ast.Try or kind.__name__ == "TryStar":
            self.visit_arm(stmt, "try", stmt.body)
            for index, handler in enumerate(stmt.handlers):
                if handler.type is not None:
                    self.visit_expr(handler.type)
                self.visit_arm(stmt, f"except{index}", handler.body)
            self.visit_block(stmt.orelse)
            self.visit_block(stmt.finalbody)
        elif kind is ast.Import:
            for alias in stmt.names:
                if alias.asname:
                    self.sem.imports[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    self.sem.imports[head] = head
        elif kind is ast.ImportFrom:
            module = "." * stmt.level + (stmt.module or "")
            for alias in stmt.names:
                if alias.name == "*":
                    if stmt.module:
                        self.sem.star_imports.append(module)
                    continue
                local = alias.asname or alias.name
                if not module:
                    self.sem.imports[local] = alias.name
                elif module.endswith("."):  # `from . import engine` -> ".engine"
                    self.sem.imports[local] = f"{module}{alias.name}"
                else:
                    self.sem.imports[local] = f"{module}.{alias.name}"
        elif kind is ast.Delete:
            for target in stmt.targets:
                if type(target) is ast.Attribute and target.attr == "grad":
                    self.sem.grad_assignments.append((stmt, self.loops, self.scope))
                self.visit_expr(target)
        elif kind is ast.Match:
            self.visit_expr(stmt.subject)
            for index, case in enumerate(stmt.cases):
                self.visit_arm(stmt, f"case{index}", case.body)
        else:
            for child in ast.iter_child_nodes(stmt):
                if isinstance(child, ast.expr):
                    self.visit_expr(child)

    def visit_loop(self, stmt: ast.For | ast.AsyncFor | ast.While) -> None:
        loop = Loop(stmt, self.scope, self.loops[-1] if self.loops else None)
        self.scope.loops.append(loop)
        self.sem.loops.append(loop)
        saved = self.loops
        self.loops = saved + (loop,)
        self.visit_arm(stmt, "loop", stmt.body)
        self.loops = saved
        self.visit_arm(stmt, "loop-else", stmt.orelse)

    def visit_with(self, stmt: ast.With | ast.AsyncWith) -> None:
        disables = False
        for item in stmt.items:
            self.visit_expr(item.context_expr)
            if item.optional_vars is not None:
                self.bind_target(item.optional_vars, item.context_expr, stmt, kind="with")
            if self.disables_grad(item.context_expr):
                disables = True
        saved = self.grad_block
        if disables:
            self.grad_block = stmt
        self.visit_block(stmt.body)
        self.grad_block = saved

    def disables_grad(self, expr: ast.expr) -> bool:
        target = expr.func if type(expr) is ast.Call else expr
        name = self.sem.qualname(target)
        if name in GRAD_DISABLING:
            return True
        if name in ("torch.set_grad_enabled", "torch.enable_grad") and type(expr) is ast.Call:
            return name == "torch.set_grad_enabled" and bool(expr.args) and constant_value(expr.args[0]) is False
        return False

    def visit_function(self, stmt: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in stmt.decorator_list:
            self.visit_expr(decorator)
        args = stmt.args
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self.visit_expr(default)
        scope = Scope(stmt, stmt.name, self.scope, cls=self.cls, owner=self.sem)
        self.sem.scopes.append(scope)
        self.sem.scope_of_node[id(stmt)] = scope
        if self.cls is not None:
            if stmt.name in self.cls.methods and not any(
                    type(d) is ast.Attribute and d.attr in ("setter", "deleter") for d in stmt.decorator_list):
                # a later `def` of the same name replaces the earlier one in the class (not a
                # property's setter, which extends the property the getter made)
                self.cls.methods[stmt.name] = scope
            else:
                self.cls.methods.setdefault(stmt.name, scope)
        else:
            self.sem.functions.setdefault(stmt.name, []).append(scope)
        positional = args.posonlyargs + args.args
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
        all_params = list(zip(positional, defaults)) + list(zip(args.kwonlyargs, args.kw_defaults))
        for index, (arg, default) in enumerate(all_params):
            scope.params.append(arg.arg)
            scope.add_binding(Binding(arg.arg, None, arg, scope, stmt.lineno, "param", index))
        for extra in (args.vararg, args.kwarg):
            if extra is not None:
                scope.params.append(extra.arg)
        grad_disabled = any(self.disables_grad(d) for d in stmt.decorator_list)
        scope.grad_disabled = grad_disabled
        saved = (self.scope, self.loops, self.grad_block, self.branches, self.cls)
        self.scope, self.loops, self.branches, self.cls = scope, (), (), None
        self.grad_block = stmt if grad_disabled else None
        self.visit_block(stmt.body)
        self.scope, self.loops, self.grad_block, self.branches, self.cls = saved

    def visit_class(self, stmt: ast.ClassDef) -> None:
        for expr in stmt.bases + stmt.decorator_list:
            self.visit_expr(expr)
        bases = [self.sem.qualname(b) or "" for b in stmt.bases]
        info = ClassInfo(stmt, bases)
        self.sem.classes.setdefault(stmt.name, info)
        self.sem._module_names.add(stmt.name)
        saved = self.cls
        self.cls = info
        self.visit_block(stmt.body)
        self.cls = saved

    # -- bindings
    def bind_target(self, target: ast.expr, value: ast.expr | None, stmt: ast.AST, kind: str = "assign") -> None:
        target_kind = type(target)
        if target_kind is ast.Name:
            self.add_binding(target.id, value, stmt, kind)
        elif target_kind is ast.Attribute:
            self.sem.attribute_assignments.append((target, value, stmt, self.scope))
            if target.attr == "grad":
                self.sem.grad_assignments.append((stmt, self.loops, self.scope))
            name = dotted(target)
            if name is not None:
                self.add_binding(name, value, stmt, kind)
                if name.startswith("self.") and name.count(".") == 1:
                    cls = self.sem.enclosing_class(self.scope)
                    if cls is not None:
                        binding = Binding(name, value, stmt, self.scope, stmt.lineno, kind, branches=self.branches)
                        cls.attrs.setdefault(name[5:], []).append(binding)
        elif target_kind is ast.Tuple or target_kind is ast.List:
            elements = target.elts
            values: list[ast.expr | None]
            if value is not None and type(value) in (ast.Tuple, ast.List) and len(value.elts) == len(elements):
                values = list(value.elts)
            elif (
                value is not None
                and type(value) is ast.Call
                and type(value.func) is ast.Attribute
                and value.func.attr == "prepare"
                and len(value.args) == len(elements)
            ):
                # accelerate's prepare() hands back its arguments, wrapped, in order.
                values = list(value.args)
            else:
                values = [None] * len(elements)
            for index, (element, element_value) in enumerate(zip(elements, values)):
                starred = type(element) is ast.Starred
                if starred:
                    element = element.value
                if element_value is None and type(element) is ast.Name and value is not None and not starred:
                    binding = Binding(element.id, None, stmt, self.scope, stmt.lineno, "unpack", None, value, index,
                                      self.branches)
                    self.scope.add_binding(binding)
                    if self.scope is self.sem.module:
                        self.sem._module_names.add(element.id)
                    continue
                self.bind_target(element, element_value, stmt, kind if element_value is not None else "unpack")

    def add_binding(self, name: str, value: ast.expr | None, stmt: ast.AST, kind: str) -> None:
        self.scope.add_binding(Binding(name, value, stmt, self.scope, stmt.lineno, kind, branches=self.branches))
        if self.scope is self.sem.module:
            self.sem._module_names.add(name.split(".")[0])

    def add_aug(self, stmt: ast.AugAssign | ast.Assign, target: str, value: ast.expr) -> None:
        aug = AugAssign(stmt, target, value, self.scope, self.loops, self.grad_block)
        self.scope.augassigns.append(aug)
        self.sem.augassigns.append(aug)

    # -- expressions
    def visit_expr(self, node: ast.AST) -> None:
        """Record the calls, `self.<attr>` reads, yields and walrus bindings of one expression.

        The hottest loop of the index (it sees every expression node of the file), so it
        pushes only nodes that can hold something (`_LEAVES` never do) and reads each kind's
        child fields from `_EXPR_FIELDS`. Children are pushed in field order and popped from
        the end, the depth-first order the calls and bindings have always been recorded in."""
        leaves = _LEAVES
        if type(node) in leaves:
            return
        stack = [node]
        pop = stack.pop
        append = stack.append
        table = _EXPR_FIELDS
        sites = self.sem.calls
        scope, loops, grad_block, stmt, block, branches = (
            self.scope, self.loops, self.grad_block, self.stmt, self.block, self.branches)
        while stack:
            current = pop()
            kind = type(current)
            if kind is ast.Call:
                sites.append(CallSite(current, scope, loops, grad_block, stmt, block, branches))  # type: ignore[arg-type]
                child = current.func
                child_kind = type(child)
                if child_kind is ast.Attribute and type(child.value) is ast.Name:
                    # `nn.Linear(...)`, `self.fc(x)`, `opt.step()`: most callees. Nothing under
                    # them to visit; only a read of `self.<attr>` to count (a callee is read)
                    if child.value.id == "self":
                        cls = scope.cls or self.sem.enclosing_class(scope)
                        if cls is not None:
                            cls.self_reads[child.attr] = cls.self_reads.get(child.attr, 0) + 1
                elif child_kind not in leaves:
                    append(child)
                for child in current.args:
                    if type(child) not in leaves:
                        append(child)
                for keyword_node in current.keywords:  # the keyword node itself holds nothing
                    child = keyword_node.value
                    if type(child) not in leaves:
                        append(child)
                continue
            if kind is ast.Attribute:
                child = current.value
                child_kind = type(child)
                if child_kind is ast.Name:
                    if child.id == "self" and type(current.ctx) is ast.Load:
                        cls = scope.cls or self.sem.enclosing_class(scope)
                        if cls is not None:
                            cls.self_reads[current.attr] = cls.self_reads.get(current.attr, 0) + 1
                elif child_kind not in leaves:
                    append(child)
                continue
            if kind in _MARKING:  # yields and walrus bindings: rare, one test for both
                if kind is ast.NamedExpr:
                    self.add_binding(current.target.id, current.value, self.stmt or current, "assign")
                else:
                    scope.is_generator = True
            fields = table.get(kind)
            if fields is None:
                self._visit_children(current, append)
                continue
            singles, lists = fields
            for name in singles:
                child = getattr(current, name)
                if type(child) not in leaves:
                    append(child)
            for name in lists:
                for child in getattr(current, name):
                    if type(child) not in leaves:
                        append(child)

    @staticmethod
    def _visit_children(node: ast.AST, append: "Callable[[ast.AST], None]") -> None:
        """Push the children of a kind `_EXPR_FIELDS` does not know (a newer Python's)."""
        kind = type(node)
        fields = _CHILD_FIELDS.get(kind)
        if fields is None:
            fields = _CHILD_FIELDS[kind] = _child_fields(kind)
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, ast.AST) and type(item) not in _LEAVES:
                        append(item)
            elif isinstance(value, ast.AST) and type(value) not in _LEAVES:
                append(value)


# Nodes `visit_expr` never needs to enter: names and constants hold nothing, a lambda's body
# runs elsewhere (its calls are not the enclosing statement's), None is an absent child.
_LEAVES = frozenset({ast.Name, ast.Constant, ast.Lambda, type(None)})
# Expression kinds `visit_expr` records something for besides calls and attributes.
_MARKING = frozenset({ast.Yield, ast.YieldFrom, ast.NamedExpr})
# The child fields of the common expression kinds: (single-node fields, list fields). In every
# kind the single fields come first in `_fields`, so pushing singles then lists keeps field order.
# Fields holding no expression (`ctx`, `op`, `ops`, `attr`, `conversion`, `is_async`) are left out.
_EXPR_FIELDS: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ast.BoolOp: ((), ("values",)),
    ast.NamedExpr: (("target", "value"), ()),
    ast.BinOp: (("left", "right"), ()),
    ast.UnaryOp: (("operand",), ()),
    ast.IfExp: (("test", "body", "orelse"), ()),
    ast.Dict: ((), ("keys", "values")),
    ast.Set: ((), ("elts",)),
    ast.ListComp: (("elt",), ("generators",)),
    ast.SetComp: (("elt",), ("generators",)),
    ast.DictComp: (("key", "value"), ("generators",)),
    ast.GeneratorExp: (("elt",), ("generators",)),
    ast.comprehension: (("target", "iter"), ("ifs",)),
    ast.Await: (("value",), ()),
    ast.Yield: (("value",), ()),
    ast.YieldFrom: (("value",), ()),
    ast.Compare: (("left",), ("comparators",)),
    ast.FormattedValue: (("value", "format_spec"), ()),
    ast.JoinedStr: ((), ("values",)),
    ast.Subscript: (("value", "slice"), ()),
    ast.Starred: (("value",), ()),
    ast.List: ((), ("elts",)),
    ast.Tuple: ((), ("elts",)),
    ast.Slice: (("lower", "upper", "step"), ()),
    ast.keyword: (("value",), ()),
}
# Fields that never hold sub-expressions worth visiting (expression contexts, operators).
_NON_CHILD_FIELDS = frozenset({"ctx", "op", "ops"})
# Fields that hold no node at all (names, numbers, flags), per node kind: left out, most nodes
# of a tree (`Name`, `Constant`) have no child field left to read. By kind, because the same
# field name holds a node elsewhere (`TypeAlias.name`, the `value` of every kind but `Constant`).
_SCALAR_FIELDS: dict[str, frozenset[str]] = {
    "Name": frozenset({"id"}),
    "Constant": frozenset({"value", "kind"}),
    "Attribute": frozenset({"attr"}),
    "arg": frozenset({"arg", "type_comment"}),
    "keyword": frozenset({"arg"}),
    "alias": frozenset({"name", "asname"}),
    "FunctionDef": frozenset({"name", "type_comment"}),
    "AsyncFunctionDef": frozenset({"name", "type_comment"}),
    "ClassDef": frozenset({"name"}),
    "ImportFrom": frozenset({"module", "level"}),
    "FormattedValue": frozenset({"conversion"}),
    "comprehension": frozenset({"is_async"}),
    "Assign": frozenset({"type_comment"}),
    "For": frozenset({"type_comment"}),
    "AsyncFor": frozenset({"type_comment"}),
    "With": frozenset({"type_comment"}),
    "AsyncWith": frozenset({"type_comment"}),
    "Global": frozenset({"names"}),
    "Nonlocal": frozenset({"names"}),
    "ExceptHandler": frozenset({"name"}),
}
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    scalars = _SCALAR_FIELDS.get(kind.__name__, frozenset())
    return tuple(name for name in kind._fields  # type: ignore[attr-defined]
                 if name not in _NON_CHILD_FIELDS and name not in scalars)


def _isinstance_of(test: ast.expr, name: str) -> ast.expr | None:
    """C for a test `isinstance(name, C)`, also as one term of an `and`; C a name or
    attribute (a tuple of classes proves no single one)."""
    if type(test) is ast.BoolOp and type(test.op) is ast.And:
        for value in test.values:
            found = _isinstance_of(value, name)
            if found is not None:
                return found
        return None
    if type(test) is not ast.Call or type(test.func) is not ast.Name or test.func.id != "isinstance" \
            or len(test.args) != 2 or test.keywords or dotted(test.args[0]) != name:
        return None
    tested = test.args[1]
    return tested if type(tested) in (ast.Name, ast.Attribute) else None


def subtree(node: ast.AST) -> list[ast.AST]:
    """Every node under `node`, itself first, in `ast.walk`'s breadth-first order but without
    the expression-context and operator nodes (`Load`, `Add`: they hold nothing a rule asks).

    A list built in one tight loop: the rules that look through a whole function or class for
    names or assignments spent most of that time in `ast.walk`'s generators
    (`iter_child_nodes` then `iter_fields` per node)."""
    found = [node]
    append = found.append
    fields_of = _CHILD_FIELDS
    node_type = ast.AST
    for current in found:  # the list grows while it is read: breadth-first, like ast.walk
        fields = fields_of.get(type(current))
        if fields is None:
            kind = type(current)
            fields = fields_of[kind] = _child_fields(kind)
        for name in fields:
            value = getattr(current, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, node_type):
                        append(item)
            elif isinstance(value, node_type):
                append(value)
    return found


def child_parent_pairs(node: ast.AST) -> list[tuple[ast.AST, ast.AST]]:
    """(child, parent) for every node under `node` (not `node` itself), in `subtree`'s order
    and without the same context and operator nodes: who holds each node, in one loop
    instead of an `ast.iter_child_nodes` generator per node."""
    found: list[tuple[ast.AST, ast.AST]] = []
    append = found.append
    pending = [node]
    push = pending.append
    fields_of = _CHILD_FIELDS
    node_type = ast.AST
    for current in pending:  # grows while it is read, as in `subtree`
        fields = fields_of.get(type(current))
        if fields is None:
            kind = type(current)
            fields = fields_of[kind] = _child_fields(kind)
        for name in fields:
            value = getattr(current, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, node_type):
                        push(item)
                        append((item, current))
            elif isinstance(value, node_type):
                push(value)
                append((value, current))
    return found


def _module_name(path: "Path", root: "Path") -> str:
    try:
        relative = path.resolve().relative_to(root)
    except ValueError:
        return path.stem
    parts = list(relative.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    if parts and parts[0] == "src":
        parts.pop(0)
    return ".".join(parts) or path.stem


_END_POSITION = attrgetter("node.end_lineno", "node.end_col_offset")


def _completion(site: CallSite) -> tuple[int, int]:
    node = site.node
    return (node.end_lineno or node.lineno, node.end_col_offset or node.col_offset)
