"""NN504 modules-in-plain-container."""

from __future__ import annotations

import ast
import keyword
from dataclasses import dataclass, field
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import Binding, CallSite, ClassInfo, Scope, Semantic, child_parent_pairs, dotted, subtree
from nnlint.torchnames import is_module_constructor
from nnlint.training import Training, training
from nnlint.message import t

_LIST_KINDS = (ast.List, ast.Tuple, ast.ListComp)
_DICT_KINDS = (ast.Dict, ast.DictComp)
# How a plain list attribute may be used and still behave the same as an nn.ModuleList.
_LIST_METHODS = frozenset({"append", "extend", "insert", "pop", "__len__", "__iter__", "__getitem__"})
_DICT_METHODS = frozenset({"items", "keys", "values", "pop", "update", "__len__", "__iter__", "__getitem__"})
_ITERATING_CALLS = frozenset({"len", "enumerate", "zip", "reversed", "iter", "list", "tuple", "sorted", "map"})
# nn.Module attributes a ModuleDict key may not shadow (`add_module` raises KeyError).
_MODULE_ATTRIBUTES = frozenset(
    {
        "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "clear", "compile", "cpu",
        "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer",
        "get_extra_state", "get_parameter", "get_submodule", "half", "ipu", "items", "keys", "load_state_dict",
        "modules", "mtia", "named_buffers", "named_children", "named_modules", "named_parameters", "parameters",
        "pop", "register_backward_hook", "register_buffer", "register_forward_hook", "register_forward_pre_hook",
        "register_full_backward_hook", "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook", "register_module", "register_parameter",
        "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_", "set_extra_state",
        "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train", "training", "type", "update",
        "values", "xpu", "zero_grad", "T_destination",
    }
)


@dataclass
class _Held:
    """The modules a plain container attribute is filled with."""

    kind: str  # "list" | "dict"
    # proven new modules: (expression, the scope it is written in, its line)
    modules: list[tuple[ast.expr, Scope, int]] = field(default_factory=list)
    all_modules: bool = True  # every element is a proven module (a ModuleList can hold them all)
    fill_sites: int = 0  # literal elements, appends and item assignments seen
    # proven modules whose class (and so whether they have parameters) is not visible: handed
    # in by the caller and tested with `isinstance(x, nn.Module)`, or made by a function
    # declared `-> nn.Module`
    unseen: list[tuple[ast.expr, Scope, int]] = field(default_factory=list)


@register
class ModulesInPlainContainer(Rule):
    """
    ## What it does
    Flags an `nn.Module` that keeps sub-modules in a plain `list`, `dict` or
    `tuple` attribute (`self.layers = [nn.Linear(...) for _ in range(n)]`, or
    `self.heads = []` filled with `append`).

    ## Why is this bad?
    `nn.Module` only registers modules assigned to it directly or kept in an
    `nn.ModuleList` / `nn.ModuleDict`. Modules inside a plain container are
    invisible to it: `model.parameters()` leaves them out, so the optimizer never
    trains them (they stay at their random initialisation); `model.to(device)` does
    not move them; `state_dict()` does not save them, so a reloaded model gets new
    random layers; `model.eval()` does not reach their dropout and batch norm. The
    forward pass still runs, and nothing raises.

    Only containers holding modules with parameters, buffers or dropout are
    reported. A container of modules that are also registered another way
    (`self.add_module`, `setattr(self, ...)`, a `self.<attr>` of their own, or the
    list later wrapped in `nn.ModuleList` / `nn.Sequential`) is fine, and so is a
    one-element list, the usual way to keep a helper network (a frozen teacher, a
    perceptual-loss network) out of the module's parameters on purpose.
    Modules whose class is not visible, handed in by the caller and tested with
    `isinstance(x, nn.Module)`, or made by a function declared `-> nn.Module`,
    are reported at information severity: only those with parameters, buffers or
    dropout lose anything.

    ## Example
    ```python
    class MLP(nn.Module):
        def __init__(self, sizes):
            super().__init__()
            self.layers = [nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]
    ```

    ## Use instead
    ```python
    class MLP(nn.Module):
        def __init__(self, sizes):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])])
    ```

    ## Fix
    Wraps the container in `nn.ModuleList(...)` (a `dict` of string keys in
    `nn.ModuleDict(...)`), or makes an empty `[]` that is filled later an
    `nn.ModuleList()`. Offered only when every element is a module and the
    attribute is only used in ways the module container supports (indexing,
    iteration, `len`, `append`, ...). The parameter names in `state_dict()` change
    (`layers.0.weight` appears): checkpoints saved before the fix never held these
    layers anyway.
    """

    code = "NN504"
    name = "modules-in-plain-container"
    severity = Severity.WARNING
    summary = "Sub-modules kept in a plain list/dict/tuple are not registered: not trained, moved or saved"
    fix_title = "Use nn.ModuleList / nn.ModuleDict"
    # Module-wide fact, not declared as words (see `nnlint.reanalysis`): a module-only method
    # called anywhere on a name (`blk.requires_grad_(False)` in another function) proves that
    # a container element spelled the same is a module (`Training.is_proven_model` through
    # `module_only_use`), which decides whether the fix is offered (`_Held.all_modules`).

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        if not sem.classes:
            return
        train = training(sem)
        calls: dict[int, list[CallSite]] | None = None  # made for the first module class with attributes
        for info in sem.classes.values():
            if not info.attrs or not sem.is_module_class(info.name):
                continue
            if calls is None:
                calls = _calls_by_class(sem)
            sites = calls.get(id(info), [])
            if _registers_by_name(sem, info, sites):
                continue
            for attr, bindings in info.attrs.items():
                finding = self._check_attribute(ctx, train, info, attr, bindings, sites)
                if finding is not None:
                    yield finding

    def _check_attribute(self, ctx: Context, train: Training, info: ClassInfo, attr: str,
                         bindings: list[Binding], sites: list[CallSite]) -> Finding | None:
        sem = ctx.semantic
        # `self.layers: Optional[List[nn.Module]] = None` declares the attribute before it is
        # given its container: the placeholder holds nothing to register
        bindings = [b for b in bindings if not (type(b.value) is ast.Constant and b.value.value is None)]
        if len(bindings) != 1:
            return None  # set more than once (`self.layers = nn.ModuleList(self.layers)`)
        binding = bindings[0]
        local = _local_container(sem, binding)
        if not _is_plain_container(sem, binding.value) and local is None:
            return None
        if _wrapped_later(sem, attr, sites):
            return None
        held = _contents(sem, train, info, attr, binding, local, sites)
        if held is None or not (held.modules or held.unseen) or held.fill_sites < 2:
            return None
        stateful = [m for m, scope, line in held.modules if train.builds_stateful_module(m, scope, line)]
        severity = None
        if not stateful:
            if not held.unseen or not held.all_modules:
                return None
            # every element is a module, but which: said at information severity, since a
            # module without parameters, buffers or dropout loses nothing unregistered
            stateful = [m for m, _scope, _line in held.unseen]
            severity = Severity.INFORMATION
        container = {"list": "list", "dict": "dict"}[held.kind]
        if type(binding.value) is ast.Tuple:
            container = "tuple"
        wrapper = "nn.ModuleDict" if held.kind == "dict" else "nn.ModuleList"
        first = stateful[0]
        message = (
            t(
                "`self.{attr}` is a plain {container} holding sub-modules of `{info_name}` (`{made}` on line "
                "{first_lineno}): they are not registered, so `parameters()` leaves them out (the optimizer "
                "never trains them), `.to(device)` does not move them, `state_dict()` does not save them and "
                "`eval()` does not reach them; use `{wrapper}`",
                attr=attr,
                container=container,
                info_name=info.name,
                made=_short(ctx.text(_callee(first))),
                first_lineno=first.lineno,
                wrapper=wrapper,
            )
        )
        note = t("a module kept in the plain container is made here")
        if severity is not None:
            message += t(" (what these modules are is not visible here: each one with parameters, buffers or "
                         "dropout is lost this way)")
            note = t("a module of a class not visible here is put in the plain container")
        related = [ctx.related(m, note) for m in stateful[:3]]
        fix = self._fix(ctx, info, attr, binding, held) if local is None else None
        return ctx.finding(self, binding.stmt, message, related, fix, severity)

    # ------------------------------------------------------------------- fix
    def _fix(self, ctx: Context, info: ClassInfo, attr: str, binding: Binding, held: _Held) -> Fix | None:
        sem = ctx.semantic
        nn = sem.spelling("torch.nn")
        value = binding.value
        if nn is None or value is None or len(info.attrs[attr]) != 1 or not held.all_modules:
            return None
        if not _uses_supported(info, attr, held.kind):
            return None
        text = ctx.text(value)
        kind = type(value)
        if held.kind == "list":
            if kind is ast.Tuple:
                new = f"{nn}.ModuleList(({text}))"
            elif kind in (ast.List, ast.ListComp) and not (kind is ast.List and not value.elts):  # type: ignore[attr-defined]
                new = f"{nn}.ModuleList({text})"
            elif _is_empty(sem, value):
                new = f"{nn}.ModuleList()"
            else:
                return None
        else:
            if kind is not ast.Dict or not _valid_keys(value):  # type: ignore[arg-type]
                return None
            new = f"{nn}.ModuleDict({text})"
        return Fix(t("Use {split}", split=new.split('(')[0]), (ctx.replace(value, new),))


# ------------------------------------------------------------------ contents
def _is_plain_container(sem: Semantic, value: ast.expr | None) -> bool:
    if value is None:
        return False
    if isinstance(value, _LIST_KINDS + _DICT_KINDS):
        return True
    return _is_empty(sem, value) or (
        type(value) is ast.Call and sem.call_name(value) in ("list", "dict", "tuple") and len(value.args) == 1
        and not value.keywords and type(value.args[0]) is ast.GeneratorExp
    )


def _is_empty(sem: Semantic, value: ast.expr) -> bool:
    if type(value) in (ast.List, ast.Dict):
        return not (value.elts if type(value) is ast.List else value.keys)  # type: ignore[attr-defined]
    return type(value) is ast.Call and sem.call_name(value) in ("list", "dict") and not value.args \
        and not value.keywords


def _kind_of(sem: Semantic, value: ast.expr) -> str:
    if isinstance(value, _DICT_KINDS) or type(value) is ast.Call and sem.call_name(value) == "dict":
        return "dict"
    return "list"


def _local_container(sem: Semantic, binding: Binding) -> Binding | None:
    """`layers = []; ...; self.layers = layers`: the local list the attribute is given,
    when it is a plain container of the same method that nothing wraps in a torch.nn
    container (`nn.Sequential(*layers)`)."""
    value = binding.value
    if type(value) is not ast.Name:
        return None
    scope = binding.scope
    local = scope.bindings.get(value.id, [])
    if len(local) != 1 or local[0].kind != "assign" or not _is_plain_container(sem, local[0].value):
        return None
    for site in scope.calls:
        for argument in [*site.node.args, *(k.value for k in site.node.keywords)]:
            inner = argument.value if type(argument) is ast.Starred else argument
            if dotted(inner) == value.id and not (sem.call_name(site.node) or "").startswith(("list", "tuple")):
                return None  # wrapped, or handed to something that may register it
    return local[0]


def _contents(sem: Semantic, train: Training, info: ClassInfo, attr: str, binding: Binding,
              local: Binding | None, sites: list[CallSite]) -> _Held | None:
    """What the container is filled with: its literal elements, comprehension element, and
    whatever the class's methods append or assign into it (or into the local list it was
    given). None when it is filled in a way this cannot follow (`self.layers.extend(...)`)."""
    source = local or binding
    value = source.value
    assert value is not None
    held = _Held(_kind_of(sem, value))
    scope = source.scope
    elements: list[ast.expr] = []
    if type(value) in (ast.List, ast.Tuple):
        if any(type(e) is ast.Starred for e in value.elts):  # type: ignore[attr-defined]
            return None
        elements = list(value.elts)  # type: ignore[attr-defined]
    elif type(value) is ast.Dict:
        if any(k is None for k in value.keys):  # `{**other}`
            return None
        elements = list(value.values)
    elif type(value) in (ast.ListComp, ast.DictComp) or type(value) is ast.Call and value.args:
        comp = value.args[0] if type(value) is ast.Call else value  # type: ignore[attr-defined]
        element = comp.value if type(comp) is ast.DictComp else comp.elt  # type: ignore[attr-defined]
        elements = [element]
        held.fill_sites += 1  # a comprehension makes several
    held.fill_sites += len(elements)
    for element in elements:
        _add(held, sem, train, element, scope, source.line)
    name = f"self.{attr}"
    for site in sites:
        if site.receiver is None:
            continue
        receiver = dotted(site.receiver)
        if receiver != name and not (local is not None and receiver == local.name and site.scope is local.scope):
            continue
        if site.method in ("append", "insert"):
            if not site.node.args:
                return None
            held.fill_sites += 2 if site.loops else 1
            _add(held, sem, train, site.node.args[-1], site.scope, site.line, site)
        elif site.method in ("extend", "update", "setdefault", "__setitem__"):
            return None
    for scope_node, target, item in _item_assignments(info, name):
        scope2 = sem.scope_of(scope_node)
        if scope2 is None:
            return None
        held.fill_sites += 2 if _in_loop(scope2, target) else 1
        _add(held, sem, train, item, scope2, target.lineno)
    for aug in sem.augassigns:
        if aug.target == name and aug.node.lineno != binding.line:
            return None  # `self.layers += [...]`, `self.layers = self.layers + [...]`
    return held


def _add(held: _Held, sem: Semantic, train: Training, element: ast.expr, scope: Scope, line: int,
         site: CallSite | None = None) -> None:
    name = dotted(element)
    if name is not None and (name.startswith("self.") or _registered_local(sem, scope, name)):
        held.all_modules = held.all_modules and train.is_proven_model(element, scope, line)
        return  # a module of its own attribute: registered there
    if type(element) is ast.Call and _returns_own_attributes(sem, element, scope):
        held.all_modules = False  # `self.pick()` hands back `self.shared`: registered there
        return
    if _unseen_module(sem, element, scope, line, site):
        held.unseen.append((element, scope, line))
        return
    made = train.constructor_name(element, scope, line)
    if made is not None and (is_module_constructor(made) or sem.is_module_class(made)):
        held.modules.append((element, scope, line))
    else:
        held.all_modules = False


def _returns_own_attributes(sem: Semantic, call: ast.Call, scope: Scope) -> bool:
    """Whether `call` runs methods of this class (or functions) whose every return hands
    back an attribute of `self` (`return self.shared`): a module registered where it was
    set, not a new one."""
    functions = sem.resolve_function(call, scope)
    return bool(functions) and all(
        function.returns and all(ret.value is not None and (dotted(ret.value) or "").startswith("self.")
                                 for ret in function.returns)
        for function in functions)


def _unseen_module(sem: Semantic, element: ast.expr, scope: Scope, line: int, site: CallSite | None) -> bool:
    """A proven module whose class is not visible: the call of a function of this file
    declared to return `nn.Module` (`get_layer(hparams)`), or, appended under `if
    isinstance(layer, nn.Module):`, an element of a list the method's caller hands in
    (`for layer in layers:`), when nothing else the caller hands in is kept (a backbone
    kept in `self.backbone` may hold the very modules the list names)."""
    if type(element) is ast.Call:
        functions = sem.resolve_function(element, scope)
        return bool(functions) and all(_builds_declared_module(function.owner or sem, function) for function in functions)
    if type(element) is not ast.Name or site is None or sem.isinstance_class(element.id, site) != "torch.nn.Module":
        return False
    binding = sem.lookup(element.id, scope, line)
    stmt = binding.stmt if binding is not None else None
    if binding is None or binding.kind != "loop" or type(stmt) not in (ast.For, ast.AsyncFor) \
            or type(stmt.iter) is not ast.Name:  # type: ignore[union-attr]
        return False
    handed = sem.lookup(stmt.iter.id, scope, binding.line)  # type: ignore[union-attr]
    if handed is None or handed.kind != "param" or handed.scope is not scope:
        return False
    return not _keeps_other_arguments(sem, scope, handed.name)


def _builds_declared_module(owner: Semantic, function: Scope) -> bool:
    """A function declared `-> nn.Module` whose every return is something it builds (a call,
    maybe through its own local names), not a module held already (`return self.backbone`,
    a parameter, a global)."""
    if owner.declared_return(function) != "torch.nn.Module" or not function.returns:
        return False
    for ret in function.returns:
        if ret.value is None:
            return False
        found = owner.origin(ret.value, function, ret.lineno, through_shape_ops=False)
        if type(found.expr) is not ast.Call or any(hop.scope is not function or "." in hop.name for hop in found.hops):
            return False
    return True


def _keeps_other_arguments(sem: Semantic, scope: Scope, iterated: str) -> bool:
    """Whether the method keeps another of its arguments in an attribute, or any argument
    unpacked from `*args`/`**kwargs`, unless its default is a literal (`mode="concat"`)."""
    node = scope.node
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return True
    arguments = node.args
    if arguments.vararg is not None or arguments.kwarg is not None:
        return True
    positional = [*arguments.posonlyargs, *arguments.args]
    literal = {a.arg for a, d in zip(positional[len(positional) - len(arguments.defaults):], arguments.defaults)
               if type(d) is ast.Constant}
    literal |= {a.arg for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults)
                if d is not None and type(d) is ast.Constant}
    for _target, value, _stmt, where in sem.attribute_assignments:
        if where is scope and value is not None and type(value) is ast.Name and value.id != iterated \
                and value.id not in literal and value.id != "self":
            binding = sem.lookup(value.id, scope, value.lineno)
            if binding is not None and binding.kind == "param":
                return True
    return False


def _registered_local(sem: Semantic, scope: Scope, name: str) -> bool:
    """`layer = nn.Linear(...); self.fc = layer; self.layers.append(layer)`: also an attribute."""
    for target, value, _stmt, where in sem.attribute_assignments:
        if where is scope and value is not None and dotted(value) == name and dotted(target.value) == "self":
            return True
    return False


def _item_assignments(info: ClassInfo, name: str) -> Iterator[tuple[ast.AST, ast.Subscript, ast.expr]]:
    """`self.heads[key] = module` in the class's methods: (method node, target, value)."""
    for method in info.methods.values():
        for node in subtree(method.node):
            if type(node) is ast.Assign:
                for target in node.targets:
                    if type(target) is ast.Subscript and dotted(target.value) == name:
                        yield method.node, target, node.value


def _in_loop(scope: Scope, node: ast.AST) -> bool:
    line = node.lineno  # type: ignore[attr-defined]
    return any(loop.node.lineno <= line <= (loop.node.end_lineno or loop.node.lineno) for loop in scope.loops)


def _calls_by_class(sem: Semantic) -> dict[int, list[CallSite]]:
    """The calls made in each class's methods (nested functions included), in one pass."""
    owner: dict[int, ClassInfo] = {}  # the scopes inside a class (few: a dictionary of them first)
    for scope in sem.scopes:
        info = sem.enclosing_class(scope)
        if info is not None:
            owner[id(scope)] = info
    table: dict[int, list[CallSite]] = {}
    if not owner:
        return table
    for site in sem.calls:
        info = owner.get(id(site.scope))
        if info is not None:
            table.setdefault(id(info), []).append(site)
    return table


def _registers_by_name(sem: Semantic, info: ClassInfo, sites: list[CallSite]) -> bool:
    """The class registers modules by computed names (`self.add_module(f"layer{i}", m)`,
    `setattr(self, name, m)`), or defines its own `parameters()`: its lists may only be
    views of modules registered that way."""
    if any(name in info.methods for name in ("parameters", "named_parameters", "children", "named_children")):
        return True
    for site in sites:
        if site.method in ("add_module", "register_module") and dotted(site.receiver) == "self":  # type: ignore[arg-type]
            return True
        if site.method is None and sem.call_name(site.node) == "setattr" and site.node.args \
                and dotted(site.node.args[0]) == "self":
            return True
    return False


def _wrapped_later(sem: Semantic, attr: str, sites: list[CallSite]) -> bool:
    """`self.net = nn.Sequential(*self.layers)`, `nn.ModuleList(self.layers)`: the modules are
    registered through the container made from the list."""
    name = f"self.{attr}"
    for site in sites:
        for argument in [*site.node.args, *(k.value for k in site.node.keywords)]:
            inner = argument.value if type(argument) is ast.Starred else argument
            if dotted(inner) == name and (sem.call_name(site.node) or "").startswith("torch.nn."):
                return True
    return False


# ------------------------------------------------------------------ fix helpers
def _uses_supported(info: ClassInfo, attr: str, kind: str) -> bool:
    """Whether every read of `self.<attr>` in the class also works on a module container."""
    methods = _LIST_METHODS if kind == "list" else _DICT_METHODS
    reads: list[tuple[ast.Attribute, ast.AST]] = []
    for child, parent in child_parent_pairs(info.node):
        if type(child) is ast.Attribute and child.attr == attr and dotted(child.value) == "self" \
                and type(child.ctx) is ast.Load:
            reads.append((child, parent))
    for read, parent in reads:
        kind_ = type(parent)
        if kind_ is ast.Subscript and parent.value is read:  # type: ignore[union-attr]
            continue
        if kind_ is ast.Attribute and parent.attr in methods:  # type: ignore[union-attr]
            continue
        if kind_ in (ast.For, ast.comprehension) and parent.iter is read:  # type: ignore[union-attr]
            continue
        if kind_ is ast.Starred:
            continue
        if kind_ is ast.Compare and kind == "dict":
            continue  # `key in self.heads`
        if kind_ is ast.Call and type(parent.func) is ast.Name and parent.func.id in _ITERATING_CALLS:  # type: ignore[union-attr]
            continue
        return False
    return True


def _valid_keys(value: ast.Dict) -> bool:
    for key in value.keys:
        if type(key) is not ast.Constant or not isinstance(key.value, str):
            return False
        text = key.value
        if not text or "." in text or text in _MODULE_ATTRIBUTES or text.startswith("_") or keyword.iskeyword(text):
            return False
    return True


def _callee(node: ast.expr) -> ast.expr:
    return node.func if type(node) is ast.Call else node


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
