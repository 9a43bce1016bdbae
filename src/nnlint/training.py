"""Training-loop structure shared by the gradient and train/eval rules.

Built lazily once per check from the semantic index: which calls are backward passes,
optimizer steps and gradient clears, which objects are optimizers and models, and the
train/eval mode events (direct or through same-file helpers) in execution order.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property

from nnlint.calls import call_index
from nnlint.findings import Severity
from nnlint.message import Message, t
from nnlint.semantic import (
    Binding, CallSite, ClassInfo, Loop, Scope, Semantic, called_module, constant_value, dotted, module_itself,
    subtree,
)
from nnlint.torchnames import (
    MODE_DEPENDENT_LAYERS,
    STATELESS_LAYERS,
    is_grad_scaler,
    is_module_constructor,
    is_optimizer_constructor,
    is_scheduler_constructor,
)
from nnlint.vocabulary import (
    GRADIENT_KINDS,
    MODE_KINDS,
    is_scaled_loss,
    looks_like_model_name,
    looks_like_optimizer_name,
)



@dataclass(frozen=True)
class Identity:
    """What an object expression refers to: its construction site when known."""

    key: str  # dotted text as written ("opt", "self.optimizer")
    made_at: ast.AST | None  # the binding's value (a constructor call) when found

    def same_as(self, other: "Identity") -> bool:
        if self.made_at is not None and other.made_at is not None:
            return self.made_at is other.made_at
        return self.key == other.key


@dataclass(frozen=True)
class GradientEvent:
    """One thing an iteration does to the gradients (see `Training.gradient_events`)."""

    kind: str  # backward | scaled_backward | step | zero_grad | clear_grad | clip | unscale
    site: CallSite  # the call (for a helper's event: the helper's call)
    argument: ast.expr | None = None  # the optimizer a step or `unscale_` acts on
    helper: bool = False  # happens inside a helper the call runs
    through_scaler: bool = False  # a step taken through `scaler.step(optimizer)`


# Calls that iterate their first argument unchanged (item by item).
_ITER_WRAPPERS = frozenset({"enumerate", "iter", "tqdm", "tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.notebook.tqdm",
                            "tqdm.autonotebook.tqdm"})



def _on_self(site: CallSite) -> bool:
    """`self.method(...)`."""
    return type(site.receiver) is ast.Name and site.receiver.id == "self"


def _direct(kind: str, site: CallSite) -> bool:
    """Whether the event is the call itself rather than something a helper it runs does."""
    if kind == "clip":
        return site.method is None or site.method.startswith("clip_grad")
    if kind in ("backward", "scaled_backward"):
        return site.method == "backward"
    return site.method in ({"unscale": "unscale_"}.get(kind, kind), "zero_")


class Training:
    def __init__(self, semantic: Semantic) -> None:
        self.sem = semantic
        # Memos for questions several rules ask of the same objects (what class built
        # `model` at this line, the gradient events of this iteration); the answers are
        # fixed for the life of the index. Keyed by ids: each entry keeps its key objects,
        # so an id is not reused while it lives, and a hit checks they are the very objects
        # asked about.
        self._constructors: dict[tuple[int, int, int], tuple[ast.expr, Scope, str | None]] = {}
        self._events: dict[tuple[int, int], tuple[list[CallSite], Scope, list[GradientEvent]]] = {}
        self._straight_calls: dict[int, tuple[Scope, list[CallSite]]] = {}

    # ----------------------------------------------------------- identities
    def identity(self, expr: ast.expr, site: CallSite) -> Identity:
        key = dotted(expr) or ast.dump(expr)
        origin = self.sem.origin(expr, site.scope, site.line, through_shape_ops=False)
        made = origin.expr if type(origin.expr) is ast.Call and origin.hops else None
        return Identity(key, made)

    def constructor_name(self, expr: ast.expr, scope: Scope, line: int) -> str | None:
        key = (id(expr), id(scope), line)
        hit = self._constructors.get(key)
        if hit is not None and hit[0] is expr and hit[1] is scope:
            return hit[2]
        name = self.sem.constructed_class(expr, scope, line)
        self._constructors[key] = (expr, scope, name)
        return name

    def is_optimizer(self, expr: ast.expr, scope: Scope, line: int) -> bool:
        made = self.constructor_name(expr, scope, line)
        if made is not None:
            if is_optimizer_constructor(made):
                return self.is_optimizer_class(made)
            if is_scheduler_constructor(made) or is_grad_scaler(made):
                return False
        name = dotted(expr)
        return name is not None and looks_like_optimizer_name(name)

    def is_optimizer_class(self, name: str) -> bool:
        """Whether the class `name` builds an optimizer: spelled like one (`torch.optim.SGD`,
        `timm.optim.Lamb`) and not a project class of that spelling that derives from no
        torch optimizer (a micrograd-style engine's own `SGD`)."""
        return is_optimizer_constructor(name) and not project_class_not_optimizer(self.sem, name)

    def made_by(self, expr: ast.expr, scope: Scope, line: int, depth: int = 0) -> tuple[str, ast.Call] | None:
        """The qualified class of the object `expr` holds and the call that built it, following
        names, `self` attributes, helpers' returns and parameters to this file's callers
        (`values.construction`); None when that is not one known call."""
        from nnlint.values import values  # values imports nothing of this module; kept lazy anyway

        vals = values(self.sem)
        made = vals.construction(expr, scope, line)
        if made is None or (dotted(made[0].func) or "").startswith("self."):
            through_method = self._made_by_method(expr, scope, line, depth)
            if through_method is not None or made is None:
                return through_method
        name = self.constructor_name(expr, scope, line) or vals.name_of(made[0])
        return (name, made[0]) if name else None

    def _made_by_method(self, expr: ast.expr, scope: Scope, line: int, depth: int) -> tuple[str, ast.Call] | None:
        """`self.loader = self._prepare_dataloader(ds)`: what the trainer's own method returns
        (the same call on every return)."""
        value = self.sem.origin(expr, scope, line, through_shape_ops=False)
        if depth > 2:
            return None
        unpacked = value.hops[-1] if value.hops and value.hops[-1].kind == "unpack" else None
        if unpacked is not None and type(unpacked.unpacked_from) is ast.Call and unpacked.unpack_index is not None:
            return self._element_made_by(unpacked.unpacked_from, unpacked.unpack_index, unpacked.scope, depth)
        call = value.expr
        if type(call) is not ast.Call or dotted(call.func) is None or not dotted(call.func).startswith(
                "self."):
            return None
        found: tuple[str, ast.Call] | None = None
        for method in self.sem.resolve_function(call, value.scope):
            for ret in method.returns:
                one = self.made_by(ret.value, method, ret.lineno, depth + 1) if ret.value is not None else None
                if one is None or found is not None and one[1] is not found[1]:
                    return None
                found = one
        return found

    def proven_kind(self, expr: ast.expr, scope: Scope, line: int) -> tuple[str, ast.AST | None] | None:
        """What `expr` is proven to hold, as far as the gradient rules care: "optimizer",
        "scheduler", "scaler" (a GradScaler), "sampler" or "model", with the node that proves
        it (its construction, or a module-only use). A name proves nothing."""
        made = self.made_by(expr, scope, line)
        if made is not None:
            name, call = made
            if self.is_optimizer_class(name):
                return ("optimizer", call)
            if is_scheduler_constructor(name):
                return ("scheduler", call)
            if is_grad_scaler(name):
                return ("scaler", call)
            if name.rsplit(".", 1)[-1] == "DistributedSampler":
                return ("sampler", call)
        if self.is_proven_model(expr, scope, line):
            use = self.module_only_use(dotted(expr) or "", scope)
            return ("model", made[1] if made is not None else use.node if use is not None else None)
        return None

    def is_model(self, expr: ast.expr, scope: Scope, line: int) -> bool:
        """Whether `expr` may hold an nn.Module: proven (`is_proven_model`), or at least
        named like one. Rules report at full severity only on a proven module."""
        name = dotted(expr)
        if name is None:
            return False
        if self.is_proven_model(expr, scope, line):
            return True
        made = self.constructor_name(expr, scope, line)
        if made is not None and self.sem.find_class(made) is not None:
            return False  # a class of this project that is not a module
        return looks_like_model_name(name) and not self.names_a_function(expr, scope, line)

    def names_a_function(self, expr: ast.expr, scope: Scope, line: int, depth: int = 0) -> bool:
        """Whether `expr` is proven to name a plain function, not a module, whatever its name
        says: a `def` of this module visible from `scope` (`sample_from_model(...)`), or a
        parameter every caller in this file fills with one (`init_rnn_state` passed along)."""
        if type(expr) is not ast.Name:
            return False
        binding = self.sem.lookup(expr.id, scope, line)
        if binding is None:
            visible: set[int] = set()
            current: Scope | None = scope
            while current is not None:
                visible.add(id(current))
                current = current.parent
            return any(f.cls is None and f.parent is not None and id(f.parent) in visible
                       for f in self.sem.functions.get(expr.id, []))
        if binding.kind == "param" and depth < 3:
            arguments = self._caller_arguments(expr.id, scope)
            return bool(arguments) and all(
                self._of(caller_scope).names_a_function(argument, caller_scope, caller_line, depth + 1)
                for argument, caller_scope, caller_line in arguments)
        if binding.kind == "assign" and type(binding.value) is ast.Name and depth < 3:
            # `net = linreg`: another name for the function (d2l's from-scratch chapters)
            return self.names_a_function(binding.value, binding.scope, binding.line, depth + 1)
        if binding.kind == "assign" and type(binding.value) is ast.Attribute:
            # `net = d2l.linreg`: a function of another project module
            function = self.sem.imported_function_named(self.sem.qualname(binding.value))
            return function is not None and function.cls is None
        return False

    def is_proven_model(self, expr: ast.expr, scope: Scope, line: int, depth: int = 0) -> bool:
        """Whether `expr` is proven to hold an nn.Module: built by a module class or a torch
        or model-zoo constructor, used with methods only a module has (`.eval()`,
        `.parameters()`), or a parameter every visible caller fills with a proven module.
        A name like `model` proves nothing (`init_rnn_state(...)` is a function)."""
        name = dotted(expr)
        if name is None:
            return False
        if name == "self":
            return self.sem.is_module_class((scope.cls or self.sem.enclosing_class(scope) or _NoClass).name)
        made = self.constructor_name(expr, scope, line)
        if made is not None:
            if self.sem.is_module_class(made) or is_module_constructor(made):
                return True
            if self.sem.find_class(made) is not None:
                return False
        if self.module_only_use(name, scope) is not None or self.handed_to_a_module_parameter(name, scope):
            return True
        return depth < 3 and self._callers_pass_models(name, scope, depth)

    def handed_to_a_module_parameter(self, name: str, scope: Scope) -> CallSite | None:
        """The call by which `scope` passes its variable `name` (a plain name) to a function
        of this file whose own code proves that parameter a module (`train(model, ...)` where
        `train` calls `model.train()`): the callee receives the very same object."""
        if "." in name or not scope.is_function:
            return None
        key = self.sem.param_key(ast.Name(id=name), scope)
        for site in scope.calls:
            call = site.node
            if not any(type(a) is ast.Name and a.id == name for a in [*call.args, *(k.value for k in call.keywords)]):
                continue
            for callee in self.sem.resolve_function(call, scope):
                for index, param in enumerate(callee.params):
                    if param != "self" and self.sem.caller_key(callee, f"#{index}", site) == key and (
                            self.module_only_use(param, callee) is not None):
                        return site
        return None

    def callers_pass_models(self, expr: ast.expr, scope: Scope) -> list[CallSite]:
        """For a parameter `expr` of the function `scope`: its callers in this file when each
        passes a proven module in its place; empty otherwise."""
        name = dotted(expr)
        if name is None or not scope.is_function or not self._callers_pass_models(name, scope, 0):
            return []
        return self.sem.callers(scope)

    def mode_claim(self, expr: ast.expr, scope: Scope, line: int, has_mode_layers: bool | None,
                   model: str) -> tuple[Severity | None, Message | str]:
        """How sure a mode finding (NN201, NN202) about `expr` can be: the severity to use
        (None: the rule's own) and what the message adds. A name alone says it softly (hint);
        a proven module whose layers are not visible here may have no dropout or batch norm,
        and then nothing changes (information)."""
        if not self.is_proven_model(expr, scope, line):
            return Severity.HINT, t(" (`{model}` is taken for a model from its name alone)", model=model)
        if has_mode_layers is None:
            return Severity.INFORMATION, t(" (whether `{model}` has dropout or batch norm is not visible here)",
                                           model=model)
        return None, ""

    def _callers_pass_models(self, name: str, scope: Scope, depth: int) -> bool:
        """For a parameter of `scope` (or an attribute of one): whether every caller in this
        file passes a proven module in its place (and there is at least one)."""
        arguments = self._caller_arguments(name, scope)
        return bool(arguments) and all(
            self._of(caller_scope).is_proven_model(argument, caller_scope, line, depth + 1)
            for argument, caller_scope, line in arguments)

    def _of(self, scope: Scope) -> "Training":
        """The training facts of the module `scope` belongs to (a caller in another module)."""
        owner = scope.owner
        return self if owner is None or owner is self.sem else training(owner)

    def _caller_arguments(self, name: str, scope: Scope) -> list[tuple[ast.expr, Scope, int]]:
        """For a parameter `name` of `scope`: what each caller in this file (or, with none
        here, in the project's other modules) passes in its place (the argument as a name of
        the caller, its scope and line); empty when there is no caller or one passes
        something that is not a plain name."""
        key = self.sem.param_key(ast.Name(id=name.split(".")[0]), scope)
        if key is None or not key.startswith("#") or "." in name:
            return []
        arguments = []
        # the callers in this file; else those in the project's other modules
        for caller in self.sem.callers(scope) or self.sem.foreign_callers(scope):
            mapped = (caller.scope.owner or self.sem).caller_key(scope, key, caller)
            if mapped is None or mapped.startswith("#") and caller.scope.is_function is False:
                return []
            argument_name = mapped if not mapped.startswith("#") else None
            if argument_name is None:
                # "#0.model": the caller's own parameter 0's `model` (`predict(ctx.model)`)
                index_text, _, rest = mapped[1:].partition(".")
                params = caller.scope.params
                index = int(index_text)
                argument_name = params[index] + (f".{rest}" if rest else "") if index < len(params) else None
            if argument_name is None:
                return []
            arguments.append((name_expr(argument_name), caller.scope, caller.line))
        return arguments

    def module_only_use(self, name: str, scope: Scope) -> CallSite | None:
        """The first call of a method only an nn.Module has (`.eval()`, `.parameters()`) on
        `name` as `scope` reads it: the same variable, bound in the same function (or the
        module, for a global; the class, for `self.<attr>`). A local `net` of another
        function proves nothing about this one (`net = d2l.linreg` is a plain function)."""
        homes = self._module_only_uses.get(name)
        if not homes:
            return None
        home = self._home_of(name.partition(".")[0], scope)
        found = homes.get(home)
        if type(home) is ClassInfo:  # `self.net` proven in a method of a base or a subclass
            related = [use for other, use in homes.items() if other is not home and type(other) is ClassInfo and (
                self._derives(home, other) or self._derives(other, home))]
            found = min([*related, *([found] if found is not None else [])], key=lambda use: use.pos, default=None)
        return found

    def _home_of(self, head: str, scope: Scope) -> Scope | ClassInfo:
        """Where the variable `head` read in `scope` lives: the class of the method for
        `self`/`cls` (a subclass's instance is one of its bases' too), the nearest
        enclosing function that binds it, else the module."""
        if head in ("self", "cls"):
            return self.sem.enclosing_class(scope) or scope
        while scope.parent is not None:
            if head in scope.bindings:
                return scope
            scope = scope.parent
        return scope

    def _derives(self, cls: ClassInfo, base: ClassInfo, depth: int = 0) -> bool:
        """Whether the class `cls` derives from `base` (through this file's classes)."""
        for name in cls.bases:
            found = self.sem.classes.get(name)
            if found is base or found is not None and depth < 8 and self._derives(found, base, depth + 1):
                return True
        return False

    @cached_property
    def _module_only_uses(self) -> dict[str, dict[Scope | ClassInfo, CallSite]]:
        """Each receiver's first module-only call per place its variable lives (`_home_of`)."""
        uses: dict[str, dict[Scope | ClassInfo, CallSite]] = {}
        for site in call_index(self.sem).methods(_MODULE_ONLY_METHODS):  # in the order of sem.calls
            if site.receiver is not None:
                name = dotted(site.receiver)
                if name is not None:
                    uses.setdefault(name, {}).setdefault(self._home_of(name.partition(".")[0], site.scope), site)
        return uses

    @cached_property
    def _calls_by_class(self) -> dict[int, list[CallSite]]:
        """The calls made directly in each class's methods (by id of the class info), in
        file order: one pass, instead of a scan of every call per class asked about."""
        by_class: dict[int, list[CallSite]] = {}
        for site in self.sem.calls:
            if site.scope.cls is not None:
                by_class.setdefault(id(site.scope.cls), []).append(site)
        return by_class

    # ------------------------------------------------------------- events
    def optimizer_of_step(self, site: CallSite) -> ast.expr | None:
        """For an optimizer step call, the optimizer expression; else None."""
        if site.method != "step":
            return None
        receiver = site.receiver
        call = site.node
        if receiver is None:
            return None
        if call.args and self._is_scaler(receiver, site):
            return call.args[0]
        if len(call.args) > 1 or call.keywords and not all(k.arg == "closure" for k in call.keywords):
            return None
        if self.is_optimizer(receiver, site.scope, site.line):
            return receiver
        return None

    def _is_scaler(self, expr: ast.expr, site: CallSite) -> bool:
        made = self.constructor_name(expr, site.scope, site.line)
        if made is not None:
            return is_grad_scaler(made)
        name = (dotted(expr) or "").lower()
        return "scaler" in name

    def is_backward(self, site: CallSite) -> bool:
        return id(site) in self._backward_ids

    @staticmethod
    def backward_sources(site: CallSite) -> set[str]:
        """The dotted expressions a backward call may start from: its receiver (`loss.backward()`)
        and its first argument (`accelerator.backward(loss)`, `self.manual_backward(loss)`; in
        `loss.backward(gradient)` the argument is a gradient), or the loss a GradScaler
        scaled (`scaler.scale(loss).backward()`)."""
        receiver = site.receiver
        if type(receiver) is ast.Call and type(receiver.func) is ast.Attribute and receiver.func.attr == "scale":
            receiver = receiver.args[0] if receiver.args else None
        sources = {dotted(receiver) if receiver is not None else None}
        if site.node.args:
            sources.add(dotted(site.node.args[0]))
        sources.discard(None)
        return sources  # type: ignore[return-value]

    def backpropagated_in(self, name: str, scope: Scope) -> CallSite | None:
        """A backward pass of `scope` that starts from `name` (its own call, not a helper's)."""
        return next((site for site in scope.calls if site.scope is scope and self.is_backward(site)
                     and name in self.backward_sources(site)), None)

    def loss_parts(self, expr: ast.expr, scope: Scope, line: int, depth: int = 0) -> CallSite | None:
        """Whether `expr` holds the parts a backpropagated loss is made of, so that they carry
        its autograd graph: `loss, parts = criterion(...)` followed by `loss.backward()`,
        where every `return` of the criterion (a function, or the `__call__`/`forward` of
        the class that built it, in any project module) is `total, parts` and `total` is
        computed from `parts` alone (`sum(parts.values()) / len(parts)`): a total that
        autograd can backpropagate from needs parts with a graph. Followed through the
        returns of the file's functions and methods (`parts = self.train_step(batch)`).
        Answers the backward call that proves it (None when not proven)."""
        if depth > 3:
            return None
        sem = self.sem
        found = sem.origin(expr, scope, line, through_shape_ops=False)
        hops = found.hops
        if hops and hops[-1].kind == "unpack" and hops[-1].unpacked_from is not None:
            return self._unpacked_loss_parts(hops[-1])
        value = found.expr
        if type(value) is not ast.Call or not hops:
            return None
        functions = sem.resolve_function(value, found.scope)
        proof: CallSite | None = None
        for function in functions:
            if function.owner not in (None, sem) or not function.returns or function.is_generator:
                return None
            for ret in function.returns:
                one = self.loss_parts(ret.value, function, ret.lineno, depth + 1) if ret.value is not None else None
                if one is None:
                    return None
                proof = proof or one
        return proof

    def _unpacked_loss_parts(self, binding: Binding) -> CallSite | None:
        """`loss, parts = criterion(...)`: see `loss_parts`."""
        stmt, call, index = binding.stmt, binding.unpacked_from, binding.unpack_index
        if type(stmt) is not ast.Assign or len(stmt.targets) != 1 or type(call) is not ast.Call or index is None:
            return None
        target = stmt.targets[0]
        if type(target) is not ast.Tuple or any(type(e) is not ast.Name for e in target.elts):
            return None
        scope = binding.scope
        for total_index, element in enumerate(target.elts):
            if total_index == index:
                continue
            backward = self.backpropagated_in(element.id, scope)  # type: ignore[attr-defined]
            if backward is None or backward.pos <= (stmt.lineno, stmt.col_offset):
                continue
            functions = self._callees(call, scope)
            if functions and all(
                    _returns_total_of_part(function, total_index, index, len(target.elts)) for function in functions):
                return backward
        return None

    def _callees(self, call: ast.Call, scope: Scope) -> list[Scope]:
        """What a call runs: a function or method, or the `__call__` (a module's `forward`)
        of the class whose instance is called (`self.loss_fn(...)`, built by a factory)."""
        sem = self.sem
        functions = sem.resolve_function(call, scope)
        if functions:
            return functions
        if type(call.func) not in (ast.Name, ast.Attribute):
            return []
        made = sem.constructed_class(call.func, scope, call.lineno)
        found = sem.find_class(made)
        if found is None:
            return []
        owner, info = found
        method = info.methods.get("__call__") or (
            info.methods.get("forward") if owner.is_module_class(info.name) else None)
        return [method] if method is not None else []

    def writes_grad(self, site: CallSite) -> bool:
        """Whether a backward call accumulates into `param.grad`. Distributed autograd's
        `dist_autograd.backward(context_id, ...)` writes into its per-iteration context
        instead, which `DistributedOptimizer.step(context_id)` reads; nothing to clear."""
        return self.sem.call_name(site.node) != "torch.distributed.autograd.backward"

    @cached_property
    def backward_sites(self) -> list[CallSite]:
        # From the call index (the same sites in the order of sem.calls, without a pass over
        # every call): `x.backward()`, a bare `backward(loss)` imported from torch.autograd
        # (`torch.autograd.backward(...)` is a method call: the first group has it), and
        # Lightning's `self.manual_backward(loss)`.
        index = call_index(self.sem)
        groups = [group for group in (
            index.methods(("backward",)),
            [s for s in index.named(("torch.autograd.backward",)) if s.method is None],
            [s for s in index.methods(("manual_backward",)) if self._is_manual_backward(s)],
        ) if group]
        # each group is in that order and holds a site once: one needs no merge
        return index.either(*groups) if len(groups) > 1 else groups[0] if groups else []

    def _is_manual_backward(self, site: CallSite) -> bool:
        """Lightning's manual optimisation: `self.manual_backward(loss)` in a LightningModule."""
        if site.method != "manual_backward" or type(site.receiver) is not ast.Name or site.receiver.id != "self":
            return False
        cls = self.sem.enclosing_class(site.scope)
        return cls is not None and self.sem.is_module_class(cls.name)

    @cached_property
    def _backward_ids(self) -> frozenset[int]:
        return frozenset(id(s) for s in self.backward_sites)

    @cached_property
    def step_sites(self) -> list[tuple[CallSite, ast.expr]]:
        steps = []
        for site in call_index(self.sem).methods(("step",)):  # what optimizer_of_step asks first
            optimizer = self.optimizer_of_step(site)
            if optimizer is not None:
                steps.append((site, optimizer))
        return steps

    def clears_gradients_in(self, loop: Loop) -> list[CallSite | ast.AST]:
        """Everything in `loop` that resets gradients: zero_grad(), p.grad = None,
        p.grad.zero_(), or a same-file helper that does one of those."""
        found: list[CallSite | ast.AST] = self._clearing_calls(loop.calls)
        for stmt, loops, _scope in self.sem.grad_assignments:
            if loop in loops:
                found.append(stmt)
        return found

    def clears_gradients_in_function(self, scope: Scope) -> bool:
        """Whether a function clears gradients anywhere (itself or through helpers)."""
        return bool(self._clearing_calls(scope.calls)) or any(
            holder is scope for _, _, holder in self.sem.grad_assignments)

    def _clearing_calls(self, sites: list[CallSite]) -> list[CallSite | ast.AST]:
        found: list[CallSite | ast.AST] = []
        for site in sites:
            if site.method in ("zero_grad", "zero_") and (
                site.method == "zero_grad" or _mentions_grad(site.receiver)
            ):
                found.append(site)
            elif site.method in ("detach_", "fill_", "requires_grad_") and _mentions_grad(site.receiver):
                found.append(site)
            elif site.method is None or site.method not in ("backward", "step"):
                for kind, _key, _ in self.sem.site_effects(site):
                    if kind in ("zero_grad", "clear_grad"):
                        found.append(site)
                        break
        return found

    def gradient_events(self, sites: list[CallSite], scope: Scope) -> list[GradientEvent]:
        """What happens to the gradients when `sites` (the calls of `scope` in one iteration)
        run, in execution order: backward passes (and whether the GradScaler scaled them),
        optimizer steps, clears, clips and `scaler.unscale_`, also inside helpers (whose
        events all sit at the helper's call)."""
        hit = self._events.get((id(sites), id(scope)))
        if hit is not None and hit[0] is sites and hit[1] is scope:
            return hit[2]
        events = self._gradient_events(sites, scope)
        self._events[(id(sites), id(scope))] = (sites, scope, events)
        return events

    def _gradient_events(self, sites: list[CallSite], scope: Scope) -> list[GradientEvent]:
        events: list[GradientEvent] = []
        for site in sites:
            if site.scope is not scope:
                continue
            optimizer = self.optimizer_of_step(site) if site.method == "step" else None
            if optimizer is not None:
                scaled = self._is_scaler(site.receiver, site) if site.receiver is not None and site.node.args else False
                events.append(GradientEvent("step", site, optimizer, through_scaler=scaled))
                continue
            if site.method == "step":
                continue  # a scheduler's, an environment's: not a gradient event
            if self.is_backward(site) and not self.sem.resolve_function(site.node, site.scope):
                events.append(GradientEvent("backward", site))
                if is_scaled_loss(site.receiver):  # `scaler.scale(loss).backward()`
                    events.append(GradientEvent("scaled_backward", site))
                continue
            for kind, _key, _ in self.sem.site_effects(site):
                if kind in GRADIENT_KINDS:
                    argument = site.node.args[0] if kind == "unscale" and site.node.args else None
                    events.append(GradientEvent(kind, site, argument, helper=not _direct(kind, site)))
        return events

    def iteration_of(self, site: CallSite) -> tuple[list[CallSite], Loop | None] | None:
        """The calls of the training iteration `site` runs in: the innermost loop around it
        that runs a backward pass, or the body of a function run once per step (a trainer's
        `train_step`) when it has no loop; None otherwise."""
        training_loops = self._training_loop_ids
        for loop in reversed(site.loops):
            if id(loop) in training_loops:
                return loop.calls, loop
        if not site.loops and site.scope.is_function:
            return self._calls_outside_loops(site.scope), None
        return None

    @cached_property
    def _training_loop_ids(self) -> frozenset[int]:
        return frozenset(map(id, self.training_loops()))

    def _calls_outside_loops(self, scope: Scope) -> list[CallSite]:
        """The calls of `scope` outside any training loop: one list per scope, so the gradient
        events of that iteration are worked out once. Calls in a loop that runs no backward
        pass belong to the iteration too: `for opt in self.optimizers: scaler.step(opt)`."""
        hit = self._straight_calls.get(id(scope))
        if hit is not None and hit[0] is scope:
            return hit[1]
        training_loops = self._training_loop_ids
        calls = [s for s in scope.calls if not any(id(loop) in training_loops for loop in s.loops)]
        self._straight_calls[id(scope)] = (scope, calls)
        return calls

    def iterations_around(self, site: CallSite, kind: str) -> list[tuple[list[GradientEvent], int, CallSite | None]]:
        """Where the gradient event `kind` that `site` makes happens, as (events of the
        iteration, index of the event, the helper call it happens through or None): the
        iteration `site` is written in, then, for a helper (a function run by callers in
        this file), each caller's iteration with the helper's events at the call."""
        found: list[tuple[list[GradientEvent], int, CallSite | None]] = []
        iteration = self.iteration_of(site)
        if iteration is not None:
            events = self.gradient_events(iteration[0], site.scope)
            index = next((i for i, e in enumerate(events) if e.site is site and e.kind == kind), None)
            if index is not None:
                found.append((events, index, None))
        if not site.scope.is_function or site.loops:
            return found
        for caller in self.sem.callers(site.scope):
            outer = self.iteration_of(caller)
            if outer is None:
                continue
            events = self.gradient_events(outer[0], caller.scope)
            mine = [i for i, e in enumerate(events) if e.site is caller and e.kind == kind]
            if len(mine) == 1:  # the helper does this once: it is this call's
                found.append((events, mine[0], caller))
        return found

    def loop_loader(self, loop: Loop) -> ast.Call | None:
        """The `DataLoader(...)` construction a `for` loop iterates (`for x, y in loader`,
        through `enumerate`, `tqdm`, `iter`, helpers and callers' arguments), else None."""
        node = loop.node
        if type(node) not in (ast.For, ast.AsyncFor):
            return None
        iterable = self._unwrapped(node.iter)  # type: ignore[union-attr]
        if type(iterable) is ast.Subscript:
            return self._keyed_loader(iterable, loop)
        if type(iterable) in (ast.Name, ast.IfExp):
            conditional = self._conditional_loader(iterable, loop.scope, node.lineno)
            if conditional is not None:
                return conditional
        return self._loader_made(iterable, loop.scope, node.lineno)

    def _unwrapped(self, iterable: ast.expr) -> ast.expr:
        """`tqdm(enumerate(loader), total=...)` -> `loader`: the wrappers yield the loader's
        batches in the loader's order."""
        while type(iterable) is ast.Call and iterable.args and (self.sem.call_name(iterable) or "") in _ITER_WRAPPERS:
            iterable = iterable.args[0]
        return iterable

    def _loader_made(self, iterable: ast.expr, scope: Scope, line: int) -> ast.Call | None:
        if type(iterable) not in (ast.Name, ast.Attribute, ast.Call):
            return None
        made = self.made_by(iterable, scope, line)
        if made is None or made[0].rsplit(".", 1)[-1] != "DataLoader":
            return None
        return made[1]

    def _conditional_loader(self, iterable: ast.expr, scope: Scope, line: int) -> ast.Call | None:
        """`pbar = tqdm(enumerate(loader)) if is_train else enumerate(loader)`: the loop reads
        the same loader whichever arm runs (a progress bar on one path only), so that loader;
        None when the arms may read different objects."""
        if type(iterable) is ast.Name:
            found = self.sem.origin(iterable, scope, line, through_shape_ops=False)
            value, scope, line = found.expr, found.scope, found.expr.lineno
        else:
            value = iterable
        if type(value) is not ast.IfExp:
            return None
        arms = [self._loader_made(self._unwrapped(arm), scope, line) for arm in (value.body, value.orelse)]
        if arms[0] is None or arms[1] is not arms[0]:
            return None
        return arms[0]

    def _keyed_loader(self, iterable: ast.Subscript, loop: Loop) -> ast.Call | None:
        """The DataLoader a loop reads from a dict literal by a constant key
        (`for batch in self.data_loader["train"]:` where `data_loader = {"train":
        DataLoader(...), ...}` was handed to the trainer): only when the dict is never written
        by key after."""
        from nnlint.values import values  # values imports nothing of this module; kept lazy anyway

        sem = self.sem
        key = constant_value(iterable.slice)
        if dotted(iterable.value) is None or type(key) is not str:
            return None
        found: ast.Call | None = None
        for made, scope, _hops in values(sem).resolve(iterable.value, loop.scope, loop.line):
            if type(made) is not ast.Dict or any(k is None for k in made.keys) or _written_by_key(made, scope):
                return None
            entry = next((v for k, v in zip(made.keys, made.values) if constant_value(k) == key), None)
            site = sem.site_of(entry) if type(entry) is ast.Call else None
            if site is None or (sem.call_name(entry) or "").rsplit(".", 1)[-1] != "DataLoader":  # type: ignore[arg-type]
                return None
            if found is not None and found is not entry:
                return None
            found = entry  # type: ignore[assignment]
        return found

    def _element_made_by(self, call: ast.Call, index: int, scope: Scope, depth: int) -> tuple[str, ast.Call] | None:
        """`train_loader, val_set = prepare_dataloaders(cfg)`: element `index` of the tuple a
        helper (here or imported) returns, the same construction on every return."""
        found: tuple[str, ast.Call] | None = None
        for function in self.sem.resolve_function(call, scope):
            owner = training(function.owner) if function.owner is not None else self
            for ret in function.returns:
                if type(ret.value) is not ast.Tuple or index >= len(ret.value.elts):
                    return None
                one = owner.made_by(ret.value.elts[index], function, ret.lineno, depth + 1)
                if one is None or found is not None and one[1] is not found[1]:
                    return None
                found = one
        return found

    def training_loop_over(self, function: Scope, index: int) -> Loop | None:
        """A training loop of `function` that iterates its parameter number `index`
        (`def train_one_epoch(model, loader, opt): for x, y in loader: ...`)."""
        if index >= len(function.params):
            return None
        name = function.params[index]
        owner = training(function.owner) if function.owner is not None else self
        for loop in owner.training_loops():
            if loop.scope is not function or type(loop.node) not in (ast.For, ast.AsyncFor):
                continue
            iterable = loop.node.iter  # type: ignore[union-attr]
            while type(iterable) is ast.Call and iterable.args and (
                    function.owner or self.sem).call_name(iterable) in _ITER_WRAPPERS:
                iterable = iterable.args[0]
            if type(iterable) is ast.Name and iterable.id == name:
                return loop
        return None

    # --------------------------------------------------------- structure
    def training_loops(self) -> list[Loop]:
        """Loops that run a backward pass in their body (directly or in a helper: a function,
        or a trainer's own method such as `self.train_step(batch)`)."""
        cached = self.__dict__.get("_training_loops")
        if cached is not None:
            return cached
        loops = []
        backward = self._backward_ids
        for loop in self.sem.loops:
            if any(id(s) in backward for s in loop.calls) or any(
                kind == "backward" for s in loop.calls if s.method is None or _on_self(s)
                for kind, _, _ in self.sem.site_effects(s)
            ):
                loops.append(loop)
        self.__dict__["_training_loops"] = loops
        return loops

    def forward_statement(self, backward: CallSite) -> ast.stmt:
        """The earliest statement of the forward pass that feeds `backward`, in the same
        block: where inserting `zero_grad()` is both correct and conventional."""
        block = backward.block
        stmt = backward.stmt
        try:
            position = block.index(stmt)
        except ValueError:
            return stmt
        needed = _names_in(backward.node)
        earliest = position
        for index in range(position - 1, -1, -1):
            candidate = block[index]
            bound = _bound_names(candidate)
            if bound & needed:
                earliest = index
                needed |= _names_in(candidate)
        return block[earliest]

    def first_model_call(self, sites: list[CallSite]) -> CallSite | None:
        """The first call among `sites` that runs a model's forward pass: `model(x)`, or
        `model.forward(x)`, `model.__call__(x)`, `model.generate(x)` (see `model_of`)."""
        for site in sites:
            func = self.model_of(site)
            if type(func) in (ast.Name, ast.Attribute) and (
                site.method not in _NOT_FORWARD or site.method in _FORWARD_METHODS
            ):
                if self.is_model(func, site.scope, site.line) and not self._is_loss_or_layer(func, site):
                    return site
        return None

    @staticmethod
    def model_of(site: CallSite) -> ast.expr:
        """The module a forward-pass call runs: `model` for `model(x)`, `model.forward(x)`,
        `model.__call__(x)` and `model.generate(x)`."""
        if site.method == "generate" and site.receiver is not None:
            return site.receiver
        return called_module(site.node.func)

    def forward_through_self(self, site: CallSite, key: str, depth: int = 0) -> CallSite | None:
        """For `self.infer(x)` in a method: the call `key(...)` of a `self.` attribute (the
        same object inside every method of the class, e.g. `self.module_(x)`) that the
        called method of this class runs with autograd enabled, directly or through at
        most two more `self.` methods. None when the method runs no such call, or runs it
        under `torch.no_grad()` (a `with` block, the function's decorator, or a caller
        chain that disables gradients for the whole method)."""
        if depth > 2 or not key.startswith("self.") or not _on_self(site):
            return None
        sem = self.sem
        for method in sem.resolve_function(site.node, site.scope):
            if method.cls is None or method.grad_disabled or method.owner not in (None, sem):
                continue
            if any(sem.decorator_disables_grad(d, method) for d in method.node.decorator_list):  # type: ignore[attr-defined]
                continue  # a project decorator that applies no_grad itself
            for inner in method.calls:
                if inner.method in ("train", "eval") and inner.receiver is not None and dotted(inner.receiver) == key:
                    break  # the method sets the mode itself: its forward is not the caller's to judge
                if inner.grad_block is not None or inner.scope is not method:
                    continue
                if dotted(inner.node.func) == key:
                    return inner
                if inner is not site and self.forward_through_self(inner, key, depth + 1) is not None:
                    return inner
        return None

    def _is_loss_or_layer(self, func: ast.expr, site: CallSite) -> bool:
        made = self.constructor_name(func, site.scope, site.line) or ""
        last = made.rsplit(".", 1)[-1]
        return last.endswith("Loss") or (made.startswith("torch.nn.") and last in {"Softmax", "Sigmoid", "ReLU"})

    def model_has_mode_layers(self, expr: ast.expr, scope: Scope, line: int, depth: int = 0) -> bool | None:
        """True/False when the model's definition is fully visible here, None otherwise. A
        parameter is decided by what the file's callers pass (True if any passes a model with
        dropout or batch norm, False if none can), a helper's result by what it returns."""
        made = self.constructor_name(expr, scope, line)
        if made is None:
            name = dotted(expr)
            arguments = self._caller_arguments(name, scope) if name is not None and depth < 3 else []
            if not arguments:
                return None
            return _any_true([self._of(caller_scope).model_has_mode_layers(argument, caller_scope, caller_line,
                                                                           depth + 1)
                              for argument, caller_scope, caller_line in arguments])
        if made.rsplit(".", 1)[-1] in ("Sequential", "ModuleList") and made.startswith("torch.nn."):
            origin = self.sem.origin(expr, scope, line, through_shape_ops=False)
            container = module_itself(origin.expr)
            if type(container) is ast.Call and origin.hops and self.sem.call_name(container) == made:
                return self._container_has_mode_layers(container, origin.scope)
            if type(container) is ast.Call and origin.hops:
                # `model = build()`: decided by the containers the helper returns
                built = self._returned_containers(container, origin.scope, made)
                if built:
                    function = self.sem.resolve_function(container, origin.scope)[0]
                    return _any_true([self._container_has_mode_layers(c, function) for c in built])
            return None  # built by a helper (`define_model(trial)`): contents unknown here
        return self._class_has_mode_layers(made, set())

    def _returned_containers(self, call: ast.Call, scope: Scope, made: str) -> list[ast.Call]:
        """The `nn.Sequential(...)` constructions a same-file helper returns, when each of its
        returns is one; empty otherwise."""
        functions = self.sem.resolve_function(call, scope)
        if len(functions) != 1 or self.sem.scope_of(functions[0].node) is not functions[0]:
            return []  # unknown, ambiguous or in another module
        function = functions[0]
        returned = [node.value for node in ast.walk(function.node)
                    if type(node) is ast.Return and node.value is not None]
        if not returned or any(type(value) is not ast.Call or self.sem.call_name(value) != made
                               for value in returned):
            return []
        return returned  # type: ignore[return-value]

    def _container_has_mode_layers(self, container: ast.Call, function: Scope | None = None) -> bool | None:
        """`nn.Sequential(nn.Linear(2, 2), nn.Tanh())`: decided by the layers it is built from.
        `nn.Sequential(*layers)` is decided by the list `function` builds (literals, `append`,
        `extend`, `+=`), when that is all that ever goes into it."""
        parts: list[ast.AST] = [container]
        for argument in container.args:
            if type(argument) is ast.Starred:
                built = self._list_contents(argument.value, function)
                if built is None:
                    return None  # `nn.Sequential(*layers)`: built elsewhere
                parts += built
            elif type(argument) is ast.Name:
                # `nn.Sequential(act, ...)` with `act = nn.Tanh()`: the layer it was made by;
                # `nn.Sequential(layers)`: an OrderedDict filled by `layers["drop"] = ...`
                scope = function or self.sem.module
                made = self.sem.origin(argument, scope, container.lineno, through_shape_ops=False)
                if type(made.expr) not in (ast.Call, ast.Dict) or not made.hops:
                    return None  # a parameter, or made elsewhere: not visible here
                if type(made.expr) is ast.Call and self.sem.call_name(made.expr) not in (
                        "collections.OrderedDict", "OrderedDict", "dict"):
                    parts.append(made.expr)
                    continue
                built = self._mapping_contents(argument, made.scope)
                if built is None:
                    return None  # a mapping filled some other way too
                parts += built
        unknown = False
        for node in (n for part in parts for n in ast.walk(part)):
            if type(node) is not ast.Call or node is container:
                continue
            name = self.sem.call_name(node) or ""
            if name in ("collections.OrderedDict", "OrderedDict", "dict", "list", "tuple"):
                continue
            if name.startswith("torch.nn.") and not _layer_call_has_mode(name.rsplit(".", 1)[-1], node):
                continue
            verdict = self._class_has_mode_layers(name, set()) if name else None
            if verdict:
                return True
            if verdict is None and not name.startswith("torch.") and name not in _BUILTIN_CALLS:
                unknown = True  # a helper or class this file does not show: `make_block(64)`
        return None if unknown else False

    def _list_contents(self, expr: ast.expr, function: Scope | None) -> list[ast.expr] | None:
        """What a local list `expr` of `function` is filled with, or None when anything else may
        go into it (a parameter, a call whose result is added, an alias)."""
        if type(expr) is not ast.Name or function is None or not function.is_function:
            return None
        name = expr.id
        contents: list[ast.expr] = []
        for node in ast.walk(function.node):
            if type(node) is ast.Assign and any(type(t) is ast.Name and t.id == name for t in node.targets):
                if type(node.value) is not ast.List:
                    return None
                contents += node.value.elts
            elif type(node) is ast.AugAssign and type(node.target) is ast.Name and node.target.id == name:
                if type(node.value) is not ast.List:
                    return None
                contents += node.value.elts
            elif type(node) is ast.Call and type(node.func) is ast.Attribute and dotted(node.func.value) == name:
                if node.func.attr == "append" and len(node.args) == 1:
                    contents.append(node.args[0])
                elif node.func.attr == "extend" and len(node.args) == 1 and type(node.args[0]) is ast.List:
                    contents += node.args[0].elts
                else:
                    return None
            elif type(node) is ast.Name and node.id == name and type(node.ctx) is ast.Load:
                continue
        if name in function.params or any(type(e) is ast.Starred for e in contents):
            return None
        return contents

    def _mapping_contents(self, expr: ast.Name, scope: Scope) -> list[ast.expr] | None:
        """The layers an OrderedDict (or dict) named `expr` of `scope` is filled with: its
        literal pairs and `name[key] = layer` assignments; None when anything else may go into
        it (a parameter, another value, `update(...)`, an alias)."""
        name = expr.id
        if scope.is_function and name in scope.params:
            return None
        contents: list[ast.expr] = []
        made = False
        for node in ast.walk(scope.node):
            if type(node) is ast.Assign and any(type(t) is ast.Name and t.id == name for t in node.targets):
                value = node.value
                if type(value) is ast.Dict:
                    contents += value.values
                elif type(value) is ast.Call and self.sem.call_name(value) in (
                        "collections.OrderedDict", "OrderedDict", "dict") and not value.keywords and len(value.args) <= 1:
                    pairs = value.args[0] if value.args else ast.List(elts=[])
                    if type(pairs) not in (ast.List, ast.Tuple) or any(
                            type(p) is not ast.Tuple or len(p.elts) != 2 for p in pairs.elts):  # type: ignore[attr-defined]
                        return None
                    contents += [p.elts[1] for p in pairs.elts]  # type: ignore[attr-defined]
                else:
                    return None
                made = True
            elif type(node) is ast.Assign and any(type(t) is ast.Subscript and dotted(t.value) == name
                                                  for t in node.targets):
                contents.append(node.value)
            elif type(node) is ast.Call and type(node.func) is ast.Attribute and dotted(node.func.value) == name:
                if node.func.attr not in ("items", "keys", "values", "get", "move_to_end"):
                    return None
            elif type(node) in (ast.AugAssign, ast.AnnAssign, ast.For, ast.NamedExpr, ast.withitem) and any(
                    type(t) is ast.Name and t.id == name
                    for t in ast.walk(getattr(node, "target", None) or getattr(node, "optional_vars", None)
                                      or ast.Pass())):
                return None  # bound some other way too
        return contents if made else None

    def _class_has_mode_layers(self, qualname: str, seen: set[str]) -> bool | None:
        last = qualname.rsplit(".", 1)[-1]
        if qualname.startswith("torch.nn."):
            if last in MODE_DEPENDENT_LAYERS:
                return True
            if last in ("Sequential", "ModuleList", "ModuleDict", "Module") or not last[:1].isupper():
                return None  # contents decided by the caller
            if last in ("DataParallel", "DistributedDataParallel") or qualname.startswith(
                ("torch.nn.parallel.", "torch.nn.utils.", "torch.nn.quantized", "torch.nn.intrinsic")
            ):
                return None  # a wrapper: the wrapped module decides
            return False
        found = self.sem.find_class(qualname)
        if found is None or qualname in seen:
            return None
        owner, info = found
        seen.add(qualname)
        unknown = False
        for site in training(owner)._calls_by_class.get(id(info), ()):
            inner = owner.call_name(site.node) or ""
            inner_last = inner.rsplit(".", 1)[-1]
            if inner.startswith("torch.nn.functional.") and "dropout" in inner_last:
                return True
            if inner.startswith("torch.nn.") and inner_last in MODE_DEPENDENT_LAYERS and _layer_call_has_mode(
                inner_last, site.node
            ):
                return True
            if owner.find_class(inner) is not None and inner != qualname:
                verdict = training(owner)._class_has_mode_layers(inner, seen)
                if verdict:
                    return True
                if verdict is None:
                    unknown = True
            elif not inner.startswith("torch.") and (
                inner_last[:1].isupper() or _builds_submodule(site) and not _passes_argument_through(owner, site)
            ):
                unknown = True  # `self.inc = inconv(3, 64)`: a layer this file cannot see into
        if not unknown and _holds_modules_it_is_given(owner, info, training(owner)._calls_by_class.get(id(info), [])):
            return None  # `MMDL(encoders, fusion, head)`: the layers are the caller's
        return None if unknown else False

    def module_has_state(self, qualname: str, parameters_only: bool = False,
                         _seen: frozenset[str] = frozenset()) -> bool | None:
        """Whether a module built by `qualname` holds parameters or buffers (or, unless
        `parameters_only`, behaves differently in eval mode): True when proven, False when
        proven empty (`nn.ReLU`, `nn.Identity`, a project class made only of those), None
        when this cannot be told (`nn.Sequential(*layers)`, a class of another library)."""
        last = qualname.rsplit(".", 1)[-1]
        if qualname.startswith("torch.nn."):
            if qualname.startswith(("torch.nn.functional", "torch.nn.init", "torch.nn.utils")):
                return None
            if last in STATELESS_LAYERS or last.endswith("Loss"):
                return False
            if parameters_only and last.startswith(("Dropout", "AlphaDropout", "FeatureAlphaDropout")):
                return False
            if last in ("Sequential", "ModuleList", "ModuleDict", "Module", "Parameter", "ParameterList",
                        "ParameterDict"):
                return True if last.startswith("Parameter") else None
            return True if last[:1].isupper() else None
        if is_module_constructor(qualname):
            return True  # a model zoo's network
        found = self.sem.find_class(qualname)
        if found is None or qualname in _seen:
            return None
        owner, info = found
        seen = _seen | {qualname}
        unknown = False
        for base in info.bases:
            if base.rsplit(".", 1)[-1] in ("Module", "LightningModule"):
                continue
            verdict = training(owner).module_has_state(base, parameters_only, seen)
            if verdict:
                return True
            unknown = unknown or verdict is None
        for site in owner.calls:
            if site.scope.cls is not info:
                continue
            if site.method == "register_parameter" or site.method == "register_buffer" and not parameters_only:
                return True
            inner = owner.call_name(site.node) or ""
            if not inner.startswith("torch.nn.") and owner.find_class(inner) is None:
                unknown = unknown or inner.rsplit(".", 1)[-1][:1].isupper()  # another library's layer
                continue
            verdict = training(owner).module_has_state(inner, parameters_only, seen)
            if verdict:
                return True
        return None if unknown else False

    def builds_stateful_module(self, expr: ast.expr, scope: Scope, line: int, parameters_only: bool = False) -> bool:
        """Whether `expr` is proven to hold a module with parameters or buffers (see
        `module_has_state`); `nn.Sequential(nn.Linear(2, 2))` is decided by its layers."""
        made = self.constructor_name(expr, scope, line)
        if made is None:
            return False
        verdict = self.module_has_state(made, parameters_only)
        if verdict is not None:
            return verdict
        origin = module_itself(self.sem.origin(expr, scope, line, through_shape_ops=False).expr)
        if type(origin) is not ast.Call or self.sem.call_name(origin) != made or not made.startswith("torch.nn."):
            return False
        return any(
            type(node) is ast.Call and node is not origin
            and self.module_has_state(self.sem.call_name(node) or "", parameters_only) is True
            for node in ast.walk(origin)
        )


# Layers whose dropout argument defaults to 0: mode-dependent only when given a rate.
_DROPOUT_ARGUMENT = {"RNN": 5, "LSTM": 5, "GRU": 5, "MultiheadAttention": 2}


def _layer_call_has_mode(layer: str, call: ast.Call) -> bool:
    """Whether this construction of a torch layer behaves differently in eval mode:
    `nn.LSTM(8, 16)` does not (no dropout), `nn.LSTM(8, 16, 2, dropout=0.2)` does."""
    position = _DROPOUT_ARGUMENT.get(layer)
    if position is None:
        return layer in MODE_DEPENDENT_LAYERS
    rate = next((k.value for k in call.keywords if k.arg == "dropout"), None)
    if rate is None and len(call.args) > position:
        rate = call.args[position]
    if rate is None:
        return any(k.arg is None for k in call.keywords) or any(type(a) is ast.Starred for a in call.args)
    return not (type(rate) is ast.Constant and not rate.value)


_BUILTIN_CALLS = frozenset({"int", "float", "round", "len", "min", "max", "range", "str", "bool", "abs", "sum"})

_MODULE_ONLY_METHODS = frozenset(
    {"eval", "train", "parameters", "named_parameters", "modules", "children", "named_modules",
     "requires_grad_", "named_children", "register_forward_hook"}
)
# One call of these on a variable proves that it holds a module wherever it is read (in the
# function that binds it, or anywhere for a global or a `self` attribute of the same class),
# also in statements not linked to that call otherwise: `nnlint.reanalysis` links every
# statement using that name to the one that proves it (keyed by the name: a superset).
MODEL_PROOF_WORDS = _MODULE_ONLY_METHODS

# Methods that run the module's forward pass (generation runs it step by step).
_FORWARD_METHODS = frozenset({"forward", "__call__", "generate"})

# nn.Module methods that are not a forward pass (a call of `model.<one of these>(...)`).
_NOT_FORWARD = frozenset(
    {"eval", "train", "parameters", "named_parameters", "state_dict", "load_state_dict", "to", "cuda", "cpu",
     "zero_grad", "apply", "modules", "children", "requires_grad_", "half", "float", "double", "bfloat16",
     "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook", "register_buffer",
     "register_parameter", "register_module", "add_module", "get_submodule", "get_parameter", "get_buffer",
     "named_modules", "named_children", "buffers", "named_buffers", "type", "share_memory", "extra_repr",
     "generate", "save_pretrained", "resize_token_embeddings", "get_input_embeddings", "tie_weights"}
)


def _holds_modules_it_is_given(sem: Semantic, info: ClassInfo, calls: list[CallSite]) -> bool:
    """Whether a class keeps modules its constructor is given: `self.head = head` called as
    `self.head(x)`, or `self.encoders = nn.ModuleList(encoders)` (what they hold is decided
    where the class is built, not in its definition)."""
    called = {site.node.func.attr for site in calls  # type: ignore[attr-defined]
              if site.method is not None and type(site.receiver) is ast.Name and site.receiver.id == "self"}
    for attr, bindings in info.attrs.items():
        for binding in bindings:
            value = binding.value
            params = binding.scope.params
            if type(value) is ast.Name and value.id in params and attr in called:
                return True
            if type(value) is ast.Call and _is_container(sem.call_name(value)) and any(
                    type(given) is ast.Name and given.id in params
                    for given in (a.value if type(a) is ast.Starred else a for a in value.args)):
                return True  # the given list itself, `nn.ModuleList(encoders)`, not `nn.Linear(in_dim, 4)`
    return False


def _is_container(name: str | None) -> bool:
    return name is not None and name.startswith("torch.nn.") and name.rsplit(".", 1)[-1] in (
        "ModuleList", "ModuleDict", "Sequential")


def _builds_submodule(site: CallSite) -> bool:
    """Whether the call's result becomes an attribute of `self` (a sub-layer, maybe)."""
    stmt = site.stmt
    return type(stmt) is ast.Assign and stmt.value is site.node and any(
        type(t) is ast.Attribute and type(t.value) is ast.Name and t.value.id == "self" for t in stmt.targets
    )


def _passes_argument_through(sem: Semantic, site: CallSite) -> bool:
    """`layer_init(nn.Linear(4, 2))`: a helper of this file that returns its own argument
    (the layer inside is read where it is built)."""
    functions = sem.resolve_function(site.node, site.scope)
    return bool(functions) and all(
        ret.value is not None and type(ret.value) is ast.Name and ret.value.id in function.params
        for function in functions for ret in function.returns
    )


# What a loss total may apply to its parts and still be made of them alone (see
# `_made_only_from`): Python's sum over a container of tensors, and torch's reductions.
_PART_BUILTINS = frozenset({"sum", "list", "tuple", "len"})
_PART_FUNCTIONS = frozenset({"torch.stack", "torch.cat", "torch.sum", "torch.mean"})
_PART_METHODS = frozenset({"values", "sum", "mean"})


def _returns_total_of_part(function: Scope, total_index: int, part_index: int, size: int) -> bool:
    """Whether every `return` of `function` is a tuple of `size` whose element `total_index`
    is computed from element `part_index` (a name) alone."""
    if not function.returns:
        return False
    owner = function.owner
    if owner is None:
        return False
    for ret in function.returns:
        value = ret.value
        if type(value) is not ast.Tuple or len(value.elts) != size:
            return False
        part = value.elts[part_index]
        if type(part) is not ast.Name or not _made_only_from(owner, function, value.elts[total_index], part.id, 0):
            return False
    return True


def _made_only_from(sem: Semantic, function: Scope, expr: ast.expr, part: str, depth: int) -> bool:
    """Whether `expr` reads `part` and nothing else but constants, builtins that sum a
    container (`sum(list(parts.values())) / len(parts)`) and torch reductions, through local
    names bound once in `function`."""
    if depth > 3:
        return False
    reads_part = False
    callees = {id(node.func) for node in ast.walk(expr) if type(node) is ast.Call}
    for node in ast.walk(expr):
        kind = type(node)
        if kind is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            if type(func) is ast.Name:
                if func.id not in _PART_BUILTINS or func.id in sem.imports or func.id in function.bindings \
                        or func.id in sem.module.bindings:
                    return False  # a shadowed `sum` is no builtin
            elif type(func) is ast.Attribute:
                if func.attr not in _PART_METHODS and sem.call_name(node) not in _PART_FUNCTIONS:  # type: ignore[arg-type]
                    return False
            else:
                return False
            if node.keywords and sem.call_name(node) not in _PART_FUNCTIONS:  # type: ignore[attr-defined, arg-type]
                return False  # `sum(parts, start=extra)`
        elif kind is ast.Name:
            if id(node) in callees:
                continue
            name = node.id  # type: ignore[attr-defined]
            if name == part:
                reads_part = True
                continue
            if name == "torch" and sem.qualname(node) == "torch":
                continue  # the module in `torch.stack(...)` (checked by its call above)
            bindings = function.bindings.get(name, [])
            if len(bindings) != 1 or bindings[0].kind != "assign" or bindings[0].value is None:
                return False
            if not _made_only_from(sem, function, bindings[0].value, part, depth + 1):
                return False
            reads_part = True
        elif kind is ast.Attribute:
            if id(node) not in callees and not (type(node.value) is ast.Name and node.value.id == "torch"):  # type: ignore[attr-defined]
                return False  # `self.weight * parts["a"]`: something besides the parts
        elif kind not in (ast.BinOp, ast.UnaryOp, ast.Constant, ast.Subscript, ast.Load, ast.operator, ast.unaryop,
                          ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub):
            return False
    return reads_part


def name_expr(dotted_name: str) -> ast.expr:
    """`a.b.c` as an expression (for asking what a caller's name holds)."""
    parts = dotted_name.split(".")
    expr: ast.expr = ast.Name(id=parts[0])
    for part in parts[1:]:
        expr = ast.Attribute(value=expr, attr=part)
    return expr


class _NoClass:
    name = ""


def _mentions_grad(expr: ast.expr | None) -> bool:
    while expr is not None and type(expr) is ast.Attribute:
        if expr.attr == "grad":
            return True
        expr = expr.value
    return False


def _names_in(node: ast.AST) -> set[str]:
    return {child.id for child in subtree(node) if type(child) is ast.Name}  # type: ignore[attr-defined]


def _bound_names(stmt: ast.stmt) -> set[str]:
    bound: set[str] = set()
    targets: list[ast.expr] = []
    if type(stmt) is ast.Assign:
        targets = stmt.targets
    elif type(stmt) in (ast.AugAssign, ast.AnnAssign):
        targets = [stmt.target]  # type: ignore[attr-defined]
    elif type(stmt) in (ast.With, ast.AsyncWith, ast.If, ast.Try):
        for child in subtree(stmt):
            if type(child) is ast.Assign:
                targets.extend(child.targets)
    for target in targets:
        for child in subtree(target):
            if type(child) is ast.Name:
                bound.add(child.id)
    return bound


# Hooks Lightning runs inside its evaluation loops, with the module already in eval mode.
_LIGHTNING_EVAL_HOOKS = ("on_validation", "on_test", "on_predict", "on_sanity_check", "validation_", "test_",
                         "predict_")
_FRAMEWORK_PREFIXES = ("lightning", "pytorch_lightning", "transformers", "accelerate", "ignite")


def is_framework_class(cls: ClassInfo | None) -> bool:
    """A LightningModule, a callback or another framework class: the framework runs its
    hooks (and decides their mode and gradient state)."""
    return cls is not None and any(
        base.startswith(_FRAMEWORK_PREFIXES) or base.endswith(("Callback", "LightningModule")) for base in cls.bases
    )


def in_lightning_eval_hook(sem: Semantic, scope: Scope) -> bool:
    """Whether `scope` (or a function around it) is a Lightning evaluation hook: a
    `validation_step`, `on_validation_batch_end`, ... of a LightningModule or Callback."""
    current: Scope | None = scope
    while current is not None and current.is_function:
        cls = sem.enclosing_class(current)
        if current.name.startswith(_LIGHTNING_EVAL_HOOKS) and is_framework_class(cls):
            return True
        current = current.parent
    return False


def _written_by_key(made: ast.Dict, scope: Scope) -> bool:
    """Whether the scope that built the dict stores into a subscript of the name it is kept
    in (`loaders["train"] = ...`), which could replace the loader read later."""
    names = {dotted(target) for node in ast.walk(scope.node) if type(node) is ast.Assign and node.value is made
             for target in node.targets}
    return any(type(target) is ast.Subscript and dotted(target.value) in names
               for node in ast.walk(scope.node) if type(node) in (ast.Assign, ast.AugAssign)
               for target in (node.targets if type(node) is ast.Assign else [node.target]))


def project_class_not_optimizer(sem: Semantic, name: str, seen: frozenset[str] = frozenset()) -> bool:
    """Whether `name`, spelled like an optimizer (`SGD`), is a class of this project that
    derives from no torch optimizer: a micrograd-style engine's own `SGD`, whose step()
    reads no torch gradients. A project subclass of `torch.optim.SGD` stays an optimizer."""
    found = sem.find_class(name)
    if found is None or name in seen:
        return False
    owner, info = found
    for base in info.bases:
        if base.startswith("torch.optim.") or base.endswith("Optimizer"):
            return False
        if owner.find_class(base) is None:
            if is_optimizer_constructor(base):
                return False  # an ecosystem optimizer (`timm.optim.Lamb`) or one not found
        elif not project_class_not_optimizer(owner, base, seen | {name}):
            return False
    return True


def training(semantic: Semantic) -> Training:
    """The shared instance for one analysed module (rules read it as `ctx.training`)."""
    return semantic.analysis(Training)


# ------------------------------------------------------------------ mode analysis


def mode_events(sem: Semantic, sites: list[CallSite], key: str, scope: Scope) -> list[tuple[str, CallSite, CallSite]]:
    """train/eval events on `key` among `sites` in execution order: (kind, site, origin),
    where origin is the call that actually switched the mode (inside a helper, maybe)."""
    events = []
    for site in sites:
        if site.scope is not scope:
            continue
        for kind, event_key, _ in sem.site_effects(site):
            # `model.eval()` also switches `model.encoder`: modes apply to sub-modules.
            if kind in MODE_KINDS and (event_key == key or key.startswith(event_key + ".")):
                events.append((kind, site, site))
    return events


def mode_before(sem: Semantic, scope: Scope, key: str, site: CallSite) -> tuple[str, CallSite] | None:
    """The mode `key` is in when `site` runs, as far as `scope` shows: the last switch
    before it, or for a call in a loop, the last switch later in the loop (the previous
    iteration's). None when `scope` never switches it before that point."""
    for loop in reversed(site.loops):
        events = mode_events(sem, loop.calls, key, scope)
        if events:
            before = [e for e in events if e[1].pos < site.pos and e[1] is not site]
            chosen = before[-1] if before else events[-1]
            return chosen[0], chosen[1]
    events = [e for e in mode_events(sem, scope.calls, key, scope) if e[1].pos < site.pos and e[1] is not site]
    if events:
        return events[-1][0], events[-1][1]
    return None


def _any_true(verdicts: list[bool | None]) -> bool | None:
    """True if any verdict is True, False if all are False, None otherwise."""
    if any(verdict is True for verdict in verdicts):
        return True
    return False if verdicts and all(verdict is False for verdict in verdicts) else None
