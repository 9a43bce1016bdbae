"""Value kinds for the loss-input rules (NN301-NN305).

"Is this expression softmax probabilities, sigmoid probabilities, log-probabilities or
raw logits, and where was that made?" Answered from the semantic index only: names,
`self` attributes and shape ops are followed with `Semantic.origin`, function
parameters through the file's call sites, models through their construction
(`nn.Sequential(...)` layers, a same-file module's `forward` returns).

Built lazily once per analysed module (`values(sem)`), like `nnlint.training`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cached_property

from nnlint.semantic import Binding, CallSite, Scope, Semantic, argument, called_module, dotted, keyword, module_itself
from nnlint.torchnames import (
    LOG_SOFTMAX_FUNCTIONS,
    LOG_SOFTMAX_MODULES,
    SIGMOID_FUNCTIONS,
    SIGMOID_MODULES,
    SOFTMAX_FUNCTIONS,
    SOFTMAX_MODULES,
)
from nnlint.message import t, t_docs

SOFTMAX = "softmax"
SIGMOID = "sigmoid"
LOG_SOFTMAX = "log_softmax"
LOGITS = "logits"
ACTIVATIONS = (SOFTMAX, SIGMOID, LOG_SOFTMAX)

_F = "torch.nn.functional"
LOSS_FUNCTIONS = {
    f"{_F}.cross_entropy": "ce",
    f"{_F}.binary_cross_entropy_with_logits": "bce_logits",
    "torch.binary_cross_entropy_with_logits": "bce_logits",
    f"{_F}.binary_cross_entropy": "bce",
    f"{_F}.nll_loss": "nll",
}
LOSS_CLASSES = {
    "CrossEntropyLoss": "ce",
    "BCEWithLogitsLoss": "bce_logits",
    "BCELoss": "bce",
    "NLLLoss": "nll",
}
LOSS_LABEL = {
    "ce": t("cross entropy"),
    "bce_logits": "BCEWithLogitsLoss",
    "bce": "BCELoss",
    "nll": "NLLLoss",
}

# torch.nn layers whose output is an unbounded score (a model ending in one gives logits).
LOGIT_LAYERS = frozenset(
    {
        "Linear", "LazyLinear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "LazyConv1d", "LazyConv2d",
        "LazyConv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    }
)
_ACT_METHODS = {"softmax": SOFTMAX, "sigmoid": SIGMOID, "log_softmax": LOG_SOFTMAX}
_LOSS_HINT = re.compile(r"Loss|cross_entropy|nll_loss")

_MAX_DEPTH = 4


@dataclass
class Value:
    """What an expression holds and where that was made."""

    kind: str  # softmax | sigmoid | log_softmax | logits
    made_at: ast.AST  # the activation call, or the model call for model outputs
    scope: Scope  # scope of `made_at`
    hops: list[Binding] = field(default_factory=list)
    inner: ast.expr | None = None  # the activation's input (for activation calls)
    dim: ast.expr | None = None  # softmax dim, when given
    via_model: bool = False  # the activation is the model's last step (forward / last layer)
    activation: ast.AST | None = None  # for via_model: the final activation in the definition
    model_def: ast.AST | None = None  # for model outputs: where the model is defined
    form: str = ""  # function | method | module (how an activation was applied)

    @property
    def line(self) -> int:
        return self.made_at.lineno  # type: ignore[attr-defined]


# One place an expression's value may come from: (the expression that made it, its scope,
# the bindings followed to get there).
Resolved = tuple[ast.expr, Scope, list[Binding]]
# What a caller passes for a parameter: the expression, the scope and line to read it in, and
# the class `self` is known to be in that scope when the call dispatches through `self` to a
# subclass's override (None otherwise).
ParamValue = tuple[ast.expr, Scope, int, "str | None"]
# Scopes (by id) whose `self` is known to be an instance of a given class (see `ParamValue`).
SelfClasses = tuple[tuple[int, str], ...]


@dataclass
class LossUse:
    site: CallSite
    kind: str  # ce | bce_logits | bce | nll
    functional: bool
    construction: ast.Call | None  # the criterion's constructor call
    construction_scope: Scope | None
    input: ast.expr
    value: Value | None


class Values:
    def __init__(self, sem: Semantic) -> None:
        # False when the file's text names no loss at all: loss_uses is then empty at once
        self.loss_text_hint = True
        self.sem = sem
        self._kind_cache: dict[tuple[int, int, str | None], Value | None] = {}
        self._model_cache: dict[int, tuple[str, ast.AST | None] | None] = {}
        # constructor calls found in other project modules, with the index that names them
        self._foreign: dict[int, Semantic] = {}
        self._foreign_nodes: dict[int, str] = {}  # id(node of another module) -> its file name
        # What callers pass for each parameter (`_param_values`), asked again for every read
        # of the parameter and fixed for the life of the index. Keyed by the binding's id;
        # each entry keeps the binding (so the id is not reused while the entry lives).
        self._filled: dict[int, tuple[Binding, list[ParamValue]]] = {}
        # While a kind is computed from a value a base class's method passes to a method a
        # subclass overrides (`self.state_loss(preds, ...)` in the base's `train_model`,
        # `state_loss` overridden): the class `self` is an instance of in that method, by
        # the id of its scope. Empty otherwise; set and restored by `kind` only.
        self._self_class: dict[int, str] = {}

    def name_of(self, call: ast.Call) -> str | None:
        """The qualified name of a call, resolved in the module the call is written in."""
        return self._foreign.get(id(call), self.sem).call_name(call)

    # ------------------------------------------------------------ resolution
    def resolve(self, expr: ast.expr, scope: Scope, line: int, depth: int = 0,
                through_shape_ops: bool = True) -> list[Resolved]:
        """Where `expr` may have been made; parameters are followed to the file's callers, and
        a global read in a function run from module-level code to the bindings that reach
        those calls."""
        return [(made, made_scope, hops) for made, made_scope, hops, _ in
                self._resolve_in_context(expr, scope, line, depth, through_shape_ops)]

    def _resolve_in_context(self, expr: ast.expr, scope: Scope, line: int, depth: int = 0,
                            through_shape_ops: bool = True) -> list[tuple[ast.expr, Scope, list[Binding], SelfClasses]]:
        """`resolve`, with the classes `self` is known to be of in the callers a parameter
        was followed into (see `ParamValue`)."""
        reaching = self._global_at_call_time(expr, scope, line) if (
            depth < 3 and type(expr) is ast.Name and scope.is_function) else None
        if reaching is not None:
            results: list[tuple[ast.expr, Scope, list[Binding], SelfClasses]] = []
            for binding in reaching:
                for expr2, scope2, hops2, known in self._resolve_in_context(
                        binding.value, binding.scope, binding.line, depth + 1, through_shape_ops):  # type: ignore[arg-type]
                    results.append((expr2, scope2, [binding, *hops2], known))
            return results
        found = self.sem.origin(expr, scope, line, through_shape_ops=through_shape_ops)
        hops = found.hops
        if hops and hops[-1].kind == "param" and hops[-1].value is None and depth < 3:
            binding = hops[-1]
            results = []
            for value, value_scope, value_line, self_class in self._param_values(binding):
                here: SelfClasses = ((id(value_scope), self_class),) if self_class is not None else ()
                for expr2, scope2, hops2, known in self._resolve_in_context(value, value_scope, value_line, depth + 1,
                                                                            through_shape_ops):
                    results.append((expr2, scope2, hops + hops2, here + known))
                if len(results) > 8:
                    break
            if results:
                return results
        return [(found.expr, found.scope, hops, ())]

    def _global_at_call_time(self, expr: ast.expr, scope: Scope, line: int) -> list[Binding] | None:
        """For a module-level name read in a function that only module-level code calls
        (`train()` in a script's epoch loop): the module bindings of the name that reach
        those calls, rather than the module's last one (a `model = torch.load(f)` after
        training). Where the read sits in an arm of `if C:` and a binding in another arm
        of an earlier `if C:` with the very same test, that binding cannot be the one
        (`if args.model == 'Transformer':` twice). None when this does not apply."""
        if type(expr) is not ast.Name or not scope.is_function:
            return None
        name = expr.id
        function = scope
        while function.parent is not None and function.parent.is_function:
            if name in function.bindings:
                return None
            function = function.parent
        module = function.parent
        if module is None or name in function.bindings or name in scope.bindings:
            return None
        bindings = module.bindings.get(name)
        if not bindings or len(bindings) < 2:
            return None
        callers = self.sem.callers(function)
        if not callers or any(site.scope is not module for site in callers):
            return None
        if self.sem.foreign_callers(function):
            return None  # other modules run it after this one is fully imported
        reaching: list[Binding] = []
        for site in callers:
            found = module.reaching(name, site.line, site.branches)
            if found is None:
                return None
            reaching.extend(b for b in found if b not in reaching)
        use_site = next((s for s in scope.calls if s.node.func is expr or s.receiver is expr), None)
        if use_site is not None and use_site.branches:
            kept = [b for b in reaching if not self._other_arm_of_same_test(b, use_site)]
            if kept:
                reaching = kept
        if any(b.kind != "assign" or b.value is None for b in reaching):
            return None
        made = {ast.dump(module_itself(b.value)) for b in reaching}  # type: ignore[arg-type]
        if len(made) == 1:
            # `Net(...).cuda()` in one arm, the same `Net(...)` in the other: one construction
            return [reaching[0]]
        return reaching

    def _other_arm_of_same_test(self, binding: Binding, use: CallSite) -> bool:
        arms = binding.branches
        if not arms:
            return False
        for node_id, arm in arms:
            statement = self.sem.if_statement(node_id)
            if statement is None or arm not in ("body", "else") or not _plain_test(statement.test):
                continue
            for use_id, use_arm in use.branches:
                other = self.sem.if_statement(use_id)
                if other is not None and use_arm in ("body", "else") and use_arm != arm and (
                        ast.dump(other.test) == ast.dump(statement.test)):
                    return True
        return False

    def param_values(self, binding: Binding) -> list[tuple[ast.expr, Scope, int]]:
        """What the callers (here, or in the project's other modules) pass for the parameter
        `binding`: each value with the scope and line to read it in; the default when nothing
        is passed. Empty when some caller passes it in a way this cannot follow."""
        return [(value, scope, line) for value, scope, line, _self_class in self._param_values(binding)]

    def _param_values(self, binding: Binding) -> list[ParamValue]:
        """What the callers (here, or in the project's other modules) pass for the parameter
        `binding`, with the scope and line to read each in; the default when nothing is
        passed. Empty when some caller passes it in a way this cannot follow."""
        hit = self._filled.get(id(binding))
        if hit is not None and hit[0] is binding:
            return hit[1]
        found = self._compute_param_values(binding)
        self._filled[id(binding)] = (binding, found)
        return found

    def _compute_param_values(self, binding: Binding) -> list[ParamValue]:
        function = binding.scope
        node = function.node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or binding.param_index is None:
            return []
        index = binding.param_index
        name = binding.name
        args = node.args
        positional = args.posonlyargs + args.args
        default: ast.expr | None = None
        if index < len(positional):
            first_default = len(positional) - len(args.defaults)
            if index >= first_default:
                default = args.defaults[index - first_default]
        else:
            default = args.kw_defaults[index - len(positional)] if index - len(positional) < len(args.kw_defaults) else None
        out: list[ParamValue] = []
        constructing = self._constructor_calls(function)
        dispatched = self._dispatched_callers(function)
        callers = self.sem.callers(function) + constructing + [site for site, _ in dispatched]
        self_class = {id(site): cls for site, cls in dispatched}
        if not callers and (function.name == "__init__" or not function.name.startswith("_")):
            # No caller here: the project's other modules may call it (`train.run(model, ...)`
            # in main.py fills `run`'s parameters), or build the class (`Evaluator(model)`).
            callers = self.sem.foreign_callers(function)
            if function.name == "__init__":
                constructing = callers
        for site in callers:
            call = site.node
            offset = 1 if function.params[:1] == ["self"] and (
                type(call.func) is ast.Attribute or site in constructing) else 0
            if any(type(a) is ast.Starred for a in call.args) or any(k.arg is None for k in call.keywords):
                return []
            value = keyword(call, name)
            if value is None and index < len(positional) and 0 <= index - offset < len(call.args):
                value = call.args[index - offset]
            if value is None:
                value = default
                if value is None:
                    return []
                out.append((value, function.parent or function, node.lineno, None))
                continue
            out.append((value, site.scope, site.line, self_class.get(id(site))))
        if not callers and default is not None:
            out.append((default, function.parent or function, node.lineno, None))
        return out

    def _dispatched_callers(self, function: Scope) -> list[tuple[CallSite, str]]:
        """For a method that overrides a base class's method of this file: the `self.name(...)`
        calls in the base classes' methods that the subclass inherits (does not override),
        each with the subclass's name. Run on an instance of the subclass, such a call runs
        the override, and `self` in the calling method is that instance."""
        cls = function.cls
        if cls is None or function.params[:1] != ["self"] or cls.methods.get(function.name) is not function:
            return []
        found: list[tuple[CallSite, str]] = []
        seen = {cls.name}
        pending = [b for b in cls.bases if b in self.sem.classes]
        while pending:
            base = self.sem.classes[pending.pop()]
            if base.name in seen:
                continue
            seen.add(base.name)
            pending.extend(b for b in base.bases if b in self.sem.classes)
            overridden = base.methods.get(function.name)
            if overridden is None:
                continue
            for site in self.sem.callers(overridden):
                caller = site.scope
                if (type(site.receiver) is ast.Name and site.receiver.id == "self" and caller.cls is base
                        and self._method(cls.name, caller.name) is caller):
                    found.append((site, cls.name))
        return found

    def _constructor_calls(self, function: Scope) -> list[CallSite]:
        """For a class's `__init__`: the calls in this file that build the class
        (`Trainer(model, loader)` fills `__init__`'s parameters), unless a subclass here
        could fill them through `super().__init__(...)` instead."""
        cls = function.cls
        if function.name != "__init__" or cls is None or cls.name not in self.sem.classes:
            return []
        if any(cls.name in info.bases for info in self.sem.classes.values()):
            return []
        return [site for site in self.sem.calls if site.method is None and self.sem.call_name(site.node) == cls.name]

    def construction(self, expr: ast.expr, scope: Scope, line: int, depth: int = 0) -> tuple[ast.Call, Scope] | None:
        """The constructor call that made the object `expr` holds (through helpers and params)."""
        return self._construction_of(self.resolve(expr, scope, line, through_shape_ops=False), depth)

    def _construction_of(self, resolved: list[Resolved], depth: int) -> tuple[ast.Call, Scope] | None:
        """`construction` from where the object was resolved to (without shape ops)."""
        found: tuple[ast.Call, Scope] | None = None
        result: tuple[ast.Call, Scope] | None
        for made, value_scope, hops in resolved:
            value = module_itself(made)  # `nn.Sigmoid().to(device)` is the Sigmoid
            if value is not made and type(value) in (ast.Name, ast.Attribute) and hops and depth < _MAX_DEPTH:
                # `model = model.to(device)`: what the name held before this assignment
                result = self.construction(value, value_scope, hops[-1].line, depth + 1)
                if result is None or (found is not None and found[0] is not result[0]):
                    return None
                found = result
                continue
            if type(value) is not ast.Call:
                return None
            result = (value, value_scope)
            functions = self.sem.resolve_function(value, value_scope) if depth < _MAX_DEPTH else []
            functions = [f for f in functions if f.cls is None]
            if functions:
                result = None
                for function in functions:
                    for ret in function.returns:
                        if ret.value is None:
                            continue
                        inner = self.construction(ret.value, function, ret.lineno, depth + 1)
                        if inner is None or (result is not None and inner[0] is not result[0]):
                            return None
                        result = inner
            if result is None or (found is not None and found[0] is not result[0]):
                return None
            found = result
        if found is not None and found[1].owner is not None and found[1].owner is not self.sem:
            self._foreign[id(found[0])] = found[1].owner
        return found

    # ---------------------------------------------------------------- kinds
    def kind(self, expr: ast.expr, scope: Scope, line: int, depth: int = 0) -> Value | None:
        # the answer for a scope whose `self` class is known may differ from the general one
        key = (id(expr), line, self._self_class.get(id(scope)))
        if key in self._kind_cache:
            return self._kind_cache[key]
        self._kind_cache[key] = None  # recursion guard
        result: Value | None = None
        if depth <= _MAX_DEPTH:
            for value, value_scope, hops, known in self._resolve_in_context(expr, scope, line):
                saved = self._self_class
                if known:
                    self._self_class = {**saved, **dict(known)}
                try:
                    if hops and hops[-1].kind == "unpack" and hops[-1].unpacked_from is not None:
                        one = self._unpacked_kind(hops[-1], depth)
                    else:
                        one = self._kind_of_made(value, value_scope, depth)
                finally:
                    self._self_class = saved
                if one is None or (result is not None and one.kind != result.kind):
                    result = None
                    break
                if result is None:
                    one.hops = hops + one.hops
                    result = one
        self._kind_cache[key] = result
        return result

    def _kind_of_made(self, value: ast.expr, scope: Scope, depth: int) -> Value | None:
        sem = self.sem
        if type(value) is ast.Attribute and value.attr == "logits":
            return Value(LOGITS, value, scope)
        if type(value) is not ast.Call:
            return None
        name = sem.call_name(value)
        if name in SOFTMAX_FUNCTIONS:
            return Value(SOFTMAX, value, scope, inner=argument(value, 0, "input"), dim=argument(value, 1, "dim"),
                         form="function")
        if name in LOG_SOFTMAX_FUNCTIONS:
            return Value(LOG_SOFTMAX, value, scope, inner=argument(value, 0, "input"), dim=argument(value, 1, "dim"),
                         form="function")
        if name in SIGMOID_FUNCTIONS:
            return Value(SIGMOID, value, scope, inner=argument(value, 0, "input"), form="function")
        func = value.func
        exponent = self._exp_argument(value, name)
        if exponent is not None:
            # `torch.exp(log_softmax(x))` is a softmax spelled another way
            inner = self.kind(exponent, scope, value.lineno, depth + 1)
            if inner is not None and inner.kind == LOG_SOFTMAX:
                return Value(SOFTMAX, value, scope, inner=inner.inner, dim=inner.dim, form="function")
            return None
        if (type(func) is ast.Attribute and func.attr in _ACT_METHODS and not self._is_module_ref(func.value)
                and not self._is_layer_attribute(func, scope, value.lineno)):
            kind = _ACT_METHODS[func.attr]
            return Value(kind, value, scope, inner=func.value, dim=argument(value, 0, "dim"), form="method")
        if name in _JOINING_FUNCTIONS:
            return self._joined_kind(value, scope, depth)
        if name and name.startswith("torch."):
            return None
        kept = self._kept_activation(value, scope) if type(func) in (ast.Name, ast.Attribute) else None
        if kept is not None:
            return kept
        if type(func) is ast.Name and func.id == "self" or dotted(func) == "self.forward":
            cls = sem.enclosing_class(scope)
            if cls is None:
                return None
            verdict = self._class_output(cls.name, depth + 1)
            if verdict is None:
                return None
            kind, activation = verdict
            return Value(kind, value, scope, via_model=kind != LOGITS, activation=activation, model_def=cls.node)
        # A called object: an activation module, a model, or a same-file helper function.
        functions = sem.resolve_function(value, scope) if type(func) is ast.Name else []
        functions = [f for f in functions if f.cls is None]
        if functions:
            return self._returns_kind(functions, depth)
        if type(func) not in (ast.Name, ast.Attribute, ast.Call):
            return None
        if type(func) is ast.Attribute and func.attr not in ("forward", "__call__"):
            by_method = self._method_result_kind(func, scope, value.lineno, depth)
            if by_method is not None:
                return by_method
        if dotted(func) != "self.forward":
            func = called_module(func)  # `model.forward(x)` runs the model like `model(x)`
        made = self.construction(func, scope, value.lineno)
        if made is None:
            return None
        ctor, _ctor_scope = made
        ctor_name = self.name_of(ctor) or ""
        if ctor_name in SOFTMAX_MODULES:
            return Value(SOFTMAX, value, scope, inner=value.args[0] if value.args else None,
                         dim=argument(ctor, 0, "dim"), form="module")
        if ctor_name in SIGMOID_MODULES:
            return Value(SIGMOID, value, scope, inner=value.args[0] if value.args else None, form="module")
        if ctor_name in LOG_SOFTMAX_MODULES:
            return Value(LOG_SOFTMAX, value, scope, inner=value.args[0] if value.args else None, form="module")
        verdict = self.model_output(ctor, depth + 1)
        if verdict is None:
            verdict = self._output_of_layer_argument(ctor, value, scope, depth + 1)
        if verdict is None:
            return None
        kind, activation = verdict
        return Value(kind, value, scope, via_model=kind != LOGITS, activation=activation, model_def=ctor)

    def _joined_kind(self, call: ast.Call, scope: Scope, depth: int) -> Value | None:
        """`torch.cat((a, b), dim)` / `torch.stack([a, b])`: the kind all the pieces share.
        An empty tensor literal adds nothing, nor does the name the result is bound to when
        it held only such a literal or such joins before (`out = torch.cat((out,
        F.softmax(h, 2).unsqueeze(-1)), -1)` in a loop, `out` starting as `torch.tensor([])`)."""
        pieces = call.args[0] if len(call.args) == 1 or len(call.args) == 2 else None
        if type(pieces) not in (ast.Tuple, ast.List) or not pieces.elts:  # type: ignore[union-attr]
            return None
        site = self.sem.site_of(call)
        target = None
        if site is not None and type(site.stmt) is ast.Assign and site.stmt.value is call \
                and len(site.stmt.targets) == 1 and type(site.stmt.targets[0]) is ast.Name:
            target = site.stmt.targets[0].id
        result: Value | None = None
        for piece in pieces.elts:  # type: ignore[union-attr]
            if type(piece) is ast.Starred:
                return None
            if _is_empty_tensor(self.sem, piece):
                continue
            if type(piece) is ast.Name and piece.id == target:
                bindings = scope.bindings.get(target, [])
                if bindings and all(b.kind == "assign" and b.value is not None and (
                        b.value is call or _is_empty_tensor(self.sem, b.value)) for b in bindings):
                    continue  # the accumulator: its earlier value holds only pieces of this join
                return None
            one = self.kind(piece, scope, call.lineno, depth + 1)
            if one is None or (result is not None and one.kind != result.kind):
                return None
            result = result or one
        if result is None:
            return None
        # the join is no single activation call: no dim of it, and nothing a fix may unwrap
        return Value(result.kind, result.made_at, result.scope, list(result.hops), via_model=result.via_model,
                     activation=result.activation, model_def=result.model_def, form="joined")

    def _method_result_kind(self, func: ast.Attribute, scope: Scope, line: int, depth: int) -> Value | None:
        """`model.predict(x)` on an instance of a module class of this file: what that method
        returns (`return torch.sigmoid(self(x))`). A class of another module is not followed:
        the activation's line would name a line of this file."""
        if depth > _MAX_DEPTH:
            return None
        made = self.construction(func.value, scope, line)
        if made is None:
            return None
        name = self.name_of(made[0]) or ""
        if name not in self.sem.classes or not self.sem.is_module_class(name):
            return None
        method = self._method(name, func.attr)
        if method is None or not method.returns or method.is_generator:
            return None
        return self._returns_kind([method], depth + 1)

    def _output_of_layer_argument(self, ctor: ast.Call, call: ast.Call, scope: Scope,
                                  depth: int) -> tuple[str, ast.AST | None] | None:
        """For a module whose forward returns what a layer handed to it computes
        (`def forward(self, x, layer): ... return layer(self.drop(x))`, the wrapper style
        of concrete dropout and weight-noise modules): what the layer passed at `call`
        returns. Every return must be a call of that one parameter."""
        name = self.name_of(ctor) or ""
        if depth > _MAX_DEPTH or not self.sem.is_module_class(name):
            return None
        foreign = self._foreign_class(name)
        owner, local = (foreign[0], foreign[1]) if foreign is not None else (self, name)
        forward = owner._method(local, "forward")
        if forward is None or not forward.returns:
            return None
        index: int | None = None
        for ret in forward.returns:
            if ret.value is None:
                return None
            made = owner.sem.origin(ret.value, forward, ret.lineno, through_shape_ops=False).expr
            if type(made) is not ast.Call or type(made.func) is not ast.Name or made.func.id not in forward.params:
                return None
            binding = owner.sem.lookup(made.func.id, forward, made.lineno)
            if binding is None or binding.kind != "param":
                return None  # the parameter was rebound before the call
            position = forward.params.index(made.func.id)
            if index is not None and position != index:
                return None
            index = position
        if index is None or forward.params[:1] != ["self"] or index == 0:
            return None
        layer = argument(call, index - 1, forward.params[index])
        if layer is None:
            return None
        if type(layer) is ast.Call and self.sem.call_name(layer) == "torch.nn.Sequential":
            last = self._last_layer(layer)
            return self._called_layer_output(last, scope, call.lineno, depth) if last is not None else None
        return self._called_layer_output(layer, scope, call.lineno, depth)

    def _called_layer_output(self, layer: ast.expr, scope: Scope, line: int,
                             depth: int) -> tuple[str, ast.AST | None] | None:
        """What running the layer `layer` (a constructor call, or a name holding one) returns."""
        if type(layer) is ast.Call:
            return self._layer_output(layer, depth)
        if type(layer) not in (ast.Name, ast.Attribute):
            return None
        made = self.construction(layer, scope, line)
        if made is None:
            return None
        if id(made[0]) in self._foreign:
            return self.model_output(made[0], depth + 1)
        return self._layer_output(made[0], depth)

    def _unpacked_kind(self, binding: Binding, depth: int) -> Value | None:
        """`tags, kind = model(x)`: the kind of one element of a tuple a model's
        forward (or a same-file helper) returns."""
        source, index = binding.unpacked_from, binding.unpack_index
        if type(source) is not ast.Call or index is None or depth > _MAX_DEPTH:
            return None
        scope = binding.scope
        own = self._self_class.get(id(scope))
        if own is not None and (dotted(source.func) in ("self", "self.forward", "self.__call__")):
            # `preds, _ = self.forward(x)` in a base class's method, run on an instance of
            # `own`: the override of `own` decides what it returns
            forward = self._method(own, "forward") if self.sem.is_module_class(own) else None
            if forward is None or not forward.returns:
                return None
            element = self._tuple_element_kind([forward], index, depth)
            if element is None:
                return None
            if element.kind == LOGITS:
                return Value(LOGITS, source, scope)
            return Value(element.kind, source, scope, via_model=True, activation=element.made_at,
                         model_def=self.sem.classes[own].node)
        functions = [f for f in self.sem.resolve_function(source, scope) if f.cls is None]
        if not functions:
            made = self.construction(source.func, scope, source.lineno)
            if made is None:
                return None
            name = self.sem.call_name(made[0]) or ""
            foreign = self._foreign_class(name) if self.sem.is_module_class(name) else None
            if foreign is not None:
                other, local, path = foreign
                element = other._element_of_output(local, index, depth)
                if element is None:
                    return None
                if element.kind == LOGITS:
                    return Value(LOGITS, source, scope)
                self._foreign_nodes[id(element.made_at)] = other.foreign_location(element.made_at) or path
                return Value(element.kind, source, scope, via_model=True, activation=element.made_at, model_def=None)
            forward = self._method(name, "forward") if self.sem.is_module_class(name) else None
            if forward is None:
                return None
            functions = [forward]
        result = self._tuple_element_kind(functions, index, depth)
        if result is None:
            return None
        if result.kind == LOGITS:
            return Value(LOGITS, source, scope)
        return Value(result.kind, source, scope, via_model=True, activation=result.made_at, model_def=None)

    def _element_of_output(self, class_name: str, index: int, depth: int) -> Value | None:
        """The kind of element `index` of the tuple this file's class `class_name` returns."""
        forward = self._method(class_name, "forward")
        if forward is None or not forward.returns or depth > _MAX_DEPTH:
            return None
        return self._tuple_element_kind([forward], index, depth)

    def _tuple_element_kind(self, functions: list[Scope], index: int, depth: int) -> Value | None:
        """The kind of element `index` of the tuples `functions` return, when all agree."""
        result: Value | None = None
        for function in functions:
            for ret in function.returns:
                if type(ret.value) is not ast.Tuple or index >= len(ret.value.elts):
                    return None
                one = self.kind(ret.value.elts[index], function, ret.lineno, depth + 1)
                if one is None or (result is not None and one.kind != result.kind):
                    return None
                result = result or one
        return result

    def _kept_activation(self, call: ast.Call, scope: Scope) -> Value | None:
        """A call of a torch softmax/log_softmax/sigmoid kept in a name or attribute
        (`to_probs = torch.softmax`), wrapped by `functools.partial` (`partial(F.softmax,
        dim=1)`) or by a lambda that applies it to its first parameter (`lambda t:
        torch.sigmoid(t)`): the call applies that activation to its first argument."""
        found: tuple[str, ast.expr | None] | None = None
        for made, _scope, _hops in self.resolve(call.func, scope, call.lineno, through_shape_ops=False):
            dim = None
            if type(made) is ast.Call and self.sem.call_name(made) == "functools.partial" and len(made.args) == 1:
                dim = keyword(made, "dim")
                made = made.args[0]
            elif type(made) is ast.Lambda:
                body, params = made.body, made.args.args
                if type(body) is not ast.Call or not params:
                    return None
                method = body.func
                if (type(method) is ast.Attribute and type(method.value) is ast.Name
                        and method.value.id == params[0].arg and method.attr in _ACT_METHODS):
                    kind, dim = _ACT_METHODS[method.attr], argument(body, 0, "dim")  # `lambda t: t.softmax(-1)`
                    if found is not None and found[0] != kind:
                        return None
                    found = (kind, dim if type(dim) in (ast.Constant, ast.UnaryOp) else None)
                    continue
                if not body.args or type(body.args[0]) is not ast.Name or body.args[0].id != params[0].arg:
                    return None
                dim = argument(body, 1, "dim")
                if dim is not None and type(dim) not in (ast.Constant, ast.UnaryOp):
                    dim = None  # a lambda parameter or a name of the lambda's own scope
                made = body.func
            name = self.sem.qualname(made) if type(made) in (ast.Name, ast.Attribute) else None
            kind = (SOFTMAX if name in SOFTMAX_FUNCTIONS else LOG_SOFTMAX if name in LOG_SOFTMAX_FUNCTIONS
                    else SIGMOID if name in SIGMOID_FUNCTIONS else None)
            if kind is None or (found is not None and found[0] != kind):
                return None
            found = (kind, dim)
        if found is None or not call.args:
            return None
        kind, dim = found
        if kind != SIGMOID and dim is None:
            dim = argument(call, 1, "dim")
        # "alias": not spelled as the torch call itself, so no fix rewrites it into another function
        return Value(kind, call, scope, inner=call.args[0], dim=dim, form="alias")

    def _returns_kind(self, functions: list[Scope], depth: int) -> Value | None:
        result: Value | None = None
        for function in functions:
            if not function.returns:
                return None
            for ret in function.returns:
                if ret.value is None:
                    return None
                one = self.kind(ret.value, function, ret.lineno, depth + 1)
                if one is None or (result is not None and one.kind != result.kind):
                    return None
                if not self._every_reaching_binding_is(one.kind, ret, function, depth):
                    return None
                result = result or one
        return result

    def _every_reaching_binding_is(self, kind: str, ret: ast.Return, function: Scope, depth: int) -> bool:
        """For `return x`: whether each assignment of `x` that may reach the return holds a
        value of `kind`. `x = self.fc(h)` then `if apply_softmax: x = F.softmax(x, 1)`
        returns logits or probabilities, as the caller's flag says: no single kind."""
        value: ast.expr | None = ret.value
        stmt: ast.stmt = ret
        arms = function.return_branches.get(id(ret))
        for _ in range(8):  # `y = y.view(b, t, c)` then `return y`: the `y` it reshapes counts too
            value = self._under_shape_ops(value)
            if type(value) is not ast.Name:
                return True
            reaching = function.reaching(value.id, stmt.lineno, arms)
            if reaching is None:
                return False
            for binding in reaching[1:]:  # the last one gave `kind` already
                if binding.kind != "assign" or binding.value is None:
                    return False
                other = self.kind(binding.value, function, binding.line, depth + 1)
                if other is None or other.kind != kind:
                    return False
            last = reaching[0]
            if last.kind != "assign" or type(last.stmt) is not ast.Assign:
                return True
            value, stmt, arms = last.value, last.stmt, last.branches  # type: ignore[assignment]
        return False

    def _under_shape_ops(self, expr: ast.expr | None) -> ast.expr | None:
        """The tensor under shape-preserving ops, as `Semantic.origin` follows them."""
        while expr is not None:
            operand = self.sem.shape_operand(expr)
            if operand is None:
                return expr
            expr = operand
        return expr

    def _exp_argument(self, call: ast.Call, name: str | None) -> ast.expr | None:
        """The tensor under `torch.exp(t)` or `t.exp()`, else None."""
        if name == "torch.exp" and call.args:
            return call.args[0]
        func = call.func
        if type(func) is ast.Attribute and func.attr == "exp" and not call.args and not self._is_module_ref(func.value):
            return func.value
        return None

    def _is_layer_attribute(self, func: ast.Attribute, scope: Scope, line: int) -> bool:
        """`self.softmax(x)` calls a layer kept in an attribute (which may well be an
        `nn.LogSoftmax`), not the tensor method `x.softmax()`: its constructor decides."""
        if type(func.value) is ast.Name and func.value.id == "self":
            return True
        return self.construction(func, scope, line) is not None

    def _is_module_ref(self, expr: ast.expr) -> bool:
        """True for `torch`, `F`, `np`, `scipy.special`: names of imported modules, not tensors."""
        head = expr
        while type(head) is ast.Attribute:
            head = head.value
        return type(head) is ast.Name and (head.id in self.sem.imports or self.sem.qualname(head) != head.id)

    # ---------------------------------------------------------------- models
    def model_output(self, ctor: ast.Call, depth: int = 0) -> tuple[str, ast.AST | None] | None:
        """What a model built by `ctor` returns: (kind, final activation node) or None."""
        key = id(ctor)
        if key in self._model_cache:
            return self._model_cache[key]
        self._model_cache[key] = None
        result = self._model_output(ctor, depth) if depth <= _MAX_DEPTH else None
        self._model_cache[key] = result
        return result

    def _model_output(self, ctor: ast.Call, depth: int) -> tuple[str, ast.AST | None] | None:
        owner = self._foreign.get(id(ctor))
        if owner is not None and owner is not self.sem and owner.path is not None:
            # built in another module (a caller there filled a parameter of this file): that
            # module's own imports name the class, so its analysis answers
            other = values(owner)
            result = other.model_output(ctor, depth)
            if result is not None and result[1] is not None:
                self._foreign_nodes[id(result[1])] = other.foreign_location(result[1]) or owner.path.name
            return result
        sem = self.sem
        name = sem.call_name(ctor) or ""
        if name == "torch.nn.Sequential":
            last_layer = self._last_layer(ctor)
            return self._layer_output(last_layer, depth) if last_layer is not None else None
        last = name.rsplit(".", 1)[-1]
        if name.startswith("torch.nn.") and last in LOGIT_LAYERS:
            return (LOGITS, None)
        if sem.is_module_class(name):
            return self._class_output(name, depth)
        return None

    def _last_layer(self, ctor: ast.Call) -> ast.expr | None:
        """The last layer of `nn.Sequential(...)`: its last argument, the last entry of an
        `OrderedDict([...])`, or the last layer `add_module()`/`append()` put in it later in
        the function that built it (`net = nn.Sequential(); net.add_module("fc", ...)`)."""
        if ctor.keywords or any(type(a) is ast.Starred for a in ctor.args):
            return None
        added = self._layers_added_later(ctor)
        if added is None:
            return None
        if added:
            return added[-1]
        if not ctor.args:
            return None
        last = ctor.args[-1]
        if (len(ctor.args) == 1 and type(last) is ast.Call
                and self.sem.call_name(last) in ("collections.OrderedDict", "OrderedDict") and len(last.args) == 1):
            entries = last.args[0]
            if type(entries) not in (ast.List, ast.Tuple) or not entries.elts:  # type: ignore[attr-defined]
                return None
            pair = entries.elts[-1]  # type: ignore[attr-defined]
            if type(pair) is not ast.Tuple or len(pair.elts) != 2:
                return None
            return pair.elts[1]
        return last

    def _layers_added_later(self, ctor: ast.Call) -> list[ast.expr] | None:
        """Layers `add_module(name, layer)` / `append(layer)` add to the Sequential bound
        from `ctor`, in order; None when it is filled in a way this cannot follow."""
        site = self.sem.site_of(ctor)
        if site is None or type(site.stmt) is not ast.Assign or len(site.stmt.targets) != 1 \
                or site.stmt.value is not ctor:
            return []
        name = dotted(site.stmt.targets[0])  # `net = nn.Sequential()`, `self.fc = nn.Sequential()`
        if name is None:
            return []
        added: list[ast.expr] = []
        for other in site.scope.calls:
            if other.pos <= site.pos or other.receiver is None or dotted(other.receiver) != name:
                continue
            if other.method == "add_module" and len(other.node.args) == 2:
                added.append(other.node.args[1])
            elif other.method == "append" and len(other.node.args) == 1:
                added.append(other.node.args[0])
            elif other.method in ("add_module", "append", "extend", "insert"):
                return None
            if other.loops and other.method in ("add_module", "append"):
                return None  # built in a loop: the last layer depends on the iterations
        return added

    def _layer_output(self, layer: ast.expr, depth: int) -> tuple[str, ast.AST | None] | None:
        if type(layer) is not ast.Call:
            return None
        name = self.sem.call_name(layer) or ""
        if name in SOFTMAX_MODULES:
            return (SOFTMAX, layer)
        if name in SIGMOID_MODULES:
            return (SIGMOID, layer)
        if name in LOG_SOFTMAX_MODULES:
            return (LOG_SOFTMAX, layer)
        return self.model_output(layer, depth + 1)

    def foreign_location(self, node: ast.AST | None) -> str | None:
        """For a node found in another project module (a model's final activation): that
        module's file name, to say where it is; None for nodes of this file."""
        return self._foreign_nodes.get(id(node)) if node is not None else None

    def _foreign_class(self, class_name: str) -> "tuple[Values, str, str] | None":
        """A module class defined in another project module: its Values, local name, file."""
        if class_name in self.sem.classes:
            return None
        found = self.sem.find_class(class_name)
        if found is None or found[0] is self.sem:
            return None
        owner, info = found
        path = getattr(owner.path, "name", None) or str(owner.path or "another module")
        return values(owner), info.name, path

    def _class_output(self, class_name: str, depth: int) -> tuple[str, ast.AST | None] | None:
        foreign = self._foreign_class(class_name)
        if foreign is not None:
            other, local, path = foreign
            result = other._class_output(local, depth)
            if result is not None and result[1] is not None:
                self._foreign_nodes[id(result[1])] = other.foreign_location(result[1]) or path
            return result
        forward = self._method(class_name, "forward")
        if forward is None or not forward.returns:
            return None
        result: tuple[str, ast.AST | None] | None = None
        for ret in forward.returns:
            if ret.value is None:
                return None
            value = self.kind(ret.value, forward, ret.lineno, depth + 1)
            if value is None or not self._every_reaching_binding_is(value.kind, ret, forward, depth):
                return None
            if value.kind == LOGITS:
                one: tuple[str, ast.AST | None] = (LOGITS, None)
            elif value.via_model:
                one = (value.kind, value.activation)
            else:
                one = (value.kind, value.made_at)
            if result is not None and result[0] != one[0]:
                return None
            result = result or one
        return result

    def _method(self, class_name: str, method: str) -> Scope | None:
        seen: set[str] = set()
        info = self.sem.classes.get(class_name)
        while info is not None and info.name not in seen:
            seen.add(info.name)
            if method in info.methods:
                return info.methods[method]
            info = next((self.sem.classes[b] for b in info.bases if b in self.sem.classes), None)
        return None

    # ---------------------------------------------------------------- tensors
    def tensor_proof(self, expr: ast.expr, scope: Scope, line: int, depth: int = 0) -> ast.AST | None:
        """Where `expr` is proven to hold a `torch.Tensor`: a torch function or factory
        (`torch.zeros`, `F.relu`), `nn.Parameter`, a torch layer or loss called on its input,
        a tensor method of a proven tensor (`t.float()`), arithmetic on one, or a batch taken
        from a `DataLoader` with the default collation (whose pieces are tensors, or lists
        and dicts that have no tensor methods). Parameters count when every caller in the
        file passes a proven tensor. None when not proven (a model's output may be a tuple,
        a dict or a `ModelOutput`; `BatchEncoding.to()` works in place)."""
        if depth > _MAX_DEPTH:
            return None
        found: ast.AST | None = None
        for value, value_scope, hops in self.resolve(expr, scope, line, through_shape_ops=False):
            if hops and hops[-1].kind in ("loop", "unpack") and hops[-1].value is None:
                proof = self._batch_piece(hops[-1], depth)
            else:
                value_line = hops[-1].line if hops else line
                proof = self._made_tensor(value, value_scope, value_line, depth)
            if proof is None:
                return None
            found = found or proof
        return found

    def _made_tensor(self, value: ast.expr, scope: Scope, line: int, depth: int) -> ast.AST | None:
        kind = type(value)
        if kind is ast.BinOp and type(value.op) is not ast.MatMult or kind is ast.UnaryOp:  # type: ignore[attr-defined]
            operands = [value.left, value.right] if kind is ast.BinOp else [value.operand]  # type: ignore[attr-defined]
            for operand in operands:
                proof = self.tensor_proof(operand, scope, line, depth + 1)
                if proof is not None:
                    return proof
            return None
        if kind is ast.Subscript:
            return self.tensor_proof(value.value, scope, line, depth + 1)  # type: ignore[attr-defined]
        if kind is not ast.Call:
            return None
        name = self.sem.call_name(value) or ""  # type: ignore[arg-type]
        if name.startswith("torch."):
            return value if _returns_tensor(name, value) else None  # type: ignore[arg-type]
        func = value.func  # type: ignore[attr-defined]
        if type(func) is ast.Attribute and func.attr in TENSOR_METHODS and not self._is_module_ref(func.value):
            return self.tensor_proof(func.value, scope, line, depth + 1)
        if type(func) in (ast.Name, ast.Attribute):
            made = self.construction(func, scope, line)
            layer = self.name_of(made[0]) if made is not None else None
            if layer is not None and _layer_returns_tensor(layer):
                return value
        return None

    def _batch_piece(self, binding: Binding, depth: int) -> ast.AST | None:
        """For a name bound by iterating a DataLoader (`for x, y in loader`, `for i, (x, y) in
        enumerate(loader)`, `x, y = batch`): the DataLoader's construction."""
        if binding.kind == "unpack" and type(binding.stmt) not in (ast.For, ast.AsyncFor):
            source = binding.unpacked_from
            if source is None or type(source) not in (ast.Name, ast.Attribute, ast.Subscript):
                return None
            base = source
            while type(base) is ast.Subscript:
                base = base.value
            found = self.resolve(base, binding.scope, binding.line, through_shape_ops=False)
            if len(found) != 1 or not found[0][2] or type(found[0][2][-1].stmt) not in (ast.For, ast.AsyncFor):
                return None
            return self._batch_piece(found[0][2][-1], depth + 1)
        stmt = binding.stmt
        if type(stmt) not in (ast.For, ast.AsyncFor):
            return None
        target, iterable = stmt.target, stmt.iter  # type: ignore[attr-defined]
        while type(iterable) is ast.Call and iterable.args:
            wrapper = self.sem.call_name(iterable) or ""
            if wrapper == "enumerate":
                if type(target) is not ast.Tuple or len(target.elts) != 2:
                    return None
                target = target.elts[1]
            elif wrapper not in ("tqdm", "tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.notebook.tqdm", "iter"):
                break
            iterable = iterable.args[0]
        if not any(type(node) is ast.Name and node.id == binding.name for node in ast.walk(target)):
            return None  # the enumerate counter
        if type(iterable) not in (ast.Name, ast.Attribute, ast.Call):
            return None
        made = self.construction(iterable, binding.scope, binding.line)  # also through `make_loader()`
        if made is None or self.name_of(made[0]) not in DATALOADERS:
            return None
        loader = made[0]
        if keyword(loader, "collate_fn") is not None or keyword(loader, "batch_sampler") is not None:
            return None  # a custom batch: anything with any `.to()`
        size = argument(loader, 1, "batch_size")
        if size is not None and type(size) is ast.Constant and size.value is None:
            return None  # no automatic batching: the dataset's own samples
        if any(k.arg is None for k in loader.keywords) or any(type(a) is ast.Starred for a in loader.args):
            return None
        return loader

    # ---------------------------------------------------------------- losses
    def loss_of(self, site: CallSite) -> tuple[str, bool, ast.Call | None, Scope | None] | None:
        call = site.node
        name = self.sem.call_name(call)
        if name in LOSS_FUNCTIONS:
            return (LOSS_FUNCTIONS[name], True, None, None)
        if name is not None and name.startswith("torch."):
            return None
        func = call.func
        if type(func) not in (ast.Name, ast.Attribute, ast.Call):
            return None
        if type(func) is ast.Attribute and func.attr in ("backward", "item", "step", "zero_grad"):
            return None
        func = called_module(func)  # `criterion.forward(input, target)` is the loss call
        # one resolution serves both questions: a kept loss function, else a criterion's constructor
        resolved = self.resolve(func, site.scope, site.line, through_shape_ops=False)
        kept = self._kept_loss_function(func, resolved)
        if kept is not None:
            return (LOSS_FUNCTIONS[kept], True, None, None)
        made = self._construction_of(resolved, 0)
        if made is None:
            return None
        ctor_name = self.name_of(made[0]) or ""
        last = ctor_name.rsplit(".", 1)[-1]
        if last in LOSS_CLASSES and ctor_name.startswith("torch.nn."):
            return (LOSS_CLASSES[last], False, made[0], made[1])
        return None

    def _kept_loss_function(self, func: ast.expr, resolved: list[Resolved]) -> str | None:
        """A torch loss function kept in a name or attribute (`self.loss_func =
        F.binary_cross_entropy_with_logits`) or wrapped by `functools.partial`: its name
        (`resolved`: where `func` was resolved to, without shape ops)."""
        if type(func) not in (ast.Name, ast.Attribute):
            return None
        found = None
        for value, value_scope, _hops in resolved:
            if type(value) is ast.Call and self.sem.call_name(value) == "functools.partial" and value.args:
                value = value.args[0]
            name = self.sem.qualname(value) if type(value) in (ast.Name, ast.Attribute) else None
            if name not in LOSS_FUNCTIONS or (found is not None and name != found):
                return None
            found = name
        return found

    def loss_value(self, expr: ast.expr, scope: Scope, line: int, depth: int = 0) -> ast.Call | None:
        """The loss call whose result `expr` holds (`loss = criterion(out, y)`, `F.mse_loss(...)`,
        a sum of such, or its `.mean()`), else None: what proves a value is a loss, not its name."""
        found = self.sem.origin(expr, scope, line)
        value, where = found.expr, found.scope
        line = found.hops[-1].line if found.hops else line
        if type(value) is ast.BinOp and depth < 4:
            return self.loss_value(value.left, where, line, depth + 1) or self.loss_value(
                value.right, where, line, depth + 1)
        if type(value) is not ast.Call:
            return None
        func = value.func
        if type(func) is ast.Attribute and func.attr in ("mean", "sum") and depth < 4:
            return self.loss_value(func.value, where, line, depth + 1)
        name = self.sem.call_name(value) or ""
        last = name.rsplit(".", 1)[-1]
        if name.startswith("torch.nn.functional.") and ("loss" in last or "entropy" in last or last == "kl_div"):
            return value
        if type(func) in (ast.Name, ast.Attribute) and not name.startswith("torch."):
            made = self.construction(called_module(func), where, value.lineno)
            made_name = self.name_of(made[0]) if made is not None else ""
            if made_name and made_name.startswith("torch.nn.") and made_name.endswith("Loss"):
                return value
        return None

    @cached_property
    def loss_uses(self) -> list[LossUse]:
        uses: list[LossUse] = []
        source_hint = self.loss_text_hint
        if not source_hint:
            return uses
        for site in self.sem.calls:
            call = site.node
            if len(call.args) + len(call.keywords) < 2:
                continue
            loss = self.loss_of(site)
            if loss is None:
                continue
            kind, functional, ctor, ctor_scope = loss
            if any(type(a) is ast.Starred for a in call.args[:1]):
                continue
            input_expr = argument(call, 0, "input")
            if input_expr is None:
                continue
            value = self.kind(input_expr, site.scope, site.line)
            uses.append(LossUse(site, kind, functional, ctor, ctor_scope, input_expr, value))
        return uses

    # ---------------------------------------------------------------- usage
    def loads(self, scope: Scope) -> dict[str, int]:
        """How often each name is read in `scope`."""
        return self.sem.name_reads(scope)



_JOINING_FUNCTIONS = frozenset({"torch.cat", "torch.concat", "torch.concatenate", "torch.stack"})
_EMPTY_FACTORIES = frozenset({"torch.tensor", "torch.Tensor", "torch.FloatTensor", "torch.as_tensor"})


def _is_empty_tensor(sem: Semantic, expr: ast.expr) -> bool:
    """`torch.tensor([])`, `torch.Tensor([])`, `torch.empty(0)`, `torch.zeros(0)`: a tensor
    with no element, which a join adds nothing to."""
    if type(expr) is not ast.Call or len(expr.args) != 1:
        return False
    name = sem.call_name(expr)
    arg = expr.args[0]
    if name in _EMPTY_FACTORIES:
        return type(arg) in (ast.List, ast.Tuple) and not arg.elts  # type: ignore[attr-defined]
    if name in ("torch.empty", "torch.zeros"):
        return type(arg) is ast.Constant and arg.value == 0
    return False


def _plain_test(test: ast.expr) -> bool:
    """A test made of names, attributes, constants and comparisons only: evaluated twice
    with nothing rebinding it, it gives the same answer (no call can change it)."""
    return all(type(node) in (ast.Name, ast.Attribute, ast.Constant, ast.Compare, ast.BoolOp, ast.UnaryOp,
                              ast.Load, ast.Eq, ast.NotEq, ast.In, ast.NotIn, ast.Is, ast.IsNot, ast.And,
                              ast.Or, ast.Not, ast.List, ast.Tuple)
               for node in ast.walk(test))


def values(sem: Semantic, source_text: str | None = None) -> Values:
    """The shared instance for one analysed module (rules read it as `ctx.values`)."""
    fresh = Values not in sem._analyses
    found = sem.analysis(Values)
    if fresh and source_text is not None and sem.project is None:  # imports may bring losses in
        found.loss_text_hint = bool(_LOSS_HINT.search(source_text))
    return found


def short(ctx_text: str, limit: int = 40) -> str:
    text = " ".join(ctx_text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------ tensor kinds
DATALOADERS = frozenset({"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"})
# Tensor methods that return a tensor (so a chain of them on a tensor is one).
TENSOR_METHODS = frozenset(
    {
        "to", "cuda", "cpu", "float", "double", "half", "bfloat16", "long", "int", "short", "byte", "bool",
        "char", "detach", "clone", "contiguous", "clamp", "clip", "clamp_min", "clamp_max", "add", "sub",
        "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow", "neg", "abs", "exp", "log",
        "sqrt", "sigmoid", "tanh", "relu", "softmax", "log_softmax", "masked_fill", "masked_scatter",
        "index_fill", "index_add", "index_copy", "scatter", "scatter_add", "squeeze", "unsqueeze", "t",
        "transpose", "permute", "reshape", "view", "view_as", "reshape_as", "expand", "expand_as", "repeat",
        "flatten", "round", "floor", "ceil", "sign", "nan_to_num", "lerp", "addcmul", "addcdiv", "mean", "sum",
        "matmul", "mm", "bmm", "type_as", "requires_grad_", "pin_memory", "squeeze_", "unsqueeze_",
        "add_", "sub_", "mul_", "div_", "clamp_", "zero_", "fill_", "copy_", "normal_", "uniform_",
    }
)
# torch functions that do not return one tensor (a tuple, a module, a device, nothing, ...).
_NOT_TENSOR_FUNCTIONS = frozenset(
    {
        "split", "chunk", "unbind", "tensor_split", "hsplit", "vsplit", "dsplit", "meshgrid", "broadcast_tensors",
        "sort", "topk", "kthvalue", "mode", "median", "max", "min", "aminmax", "var_mean", "std_mean", "unique",
        "unique_consecutive", "lu", "qr", "svd", "eig", "slogdet", "lstsq", "histogram", "frexp", "where",
        "nonzero", "load", "save", "device", "dtype", "manual_seed", "seed", "no_grad", "enable_grad",
        "set_grad_enabled", "inference_mode", "compile", "is_tensor", "numel", "get_default_dtype",
        "set_default_dtype", "from_dlpack", "autocast", "Generator", "Size", "finfo", "iinfo",
    }
)
# torch.nn layers whose call returns a tuple, its input untouched, or whatever its contents return.
_NOT_TENSOR_LAYERS = frozenset(
    {
        "RNN", "LSTM", "GRU", "LSTMCell", "MultiheadAttention", "Sequential", "ModuleList", "ModuleDict",
        "Module", "Identity", "AdaptiveLogSoftmaxWithLoss", "DataParallel", "DistributedDataParallel",
        "MaxPool1d", "MaxPool2d", "MaxPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
        "FractionalMaxPool2d", "FractionalMaxPool3d", "Parameter", "ParameterList", "ParameterDict",
    }
)


def _returns_tensor(name: str, call: ast.Call) -> bool:
    """Whether the torch function `name` returns one tensor."""
    parts = name.split(".")
    last = parts[-1]
    if name in ("torch.nn.Parameter", "torch.nn.parameter.Parameter"):
        return True
    if name.startswith("torch.nn.functional."):
        return "return_indices" not in {k.arg for k in call.keywords} and not last.endswith("_with_indices") \
            and last != "multi_head_attention_forward" and len(parts) == 4
    if len(parts) != 2 or not last[:1].islower() or last in _NOT_TENSOR_FUNCTIONS or last.startswith(("is_", "set_")):
        return False
    return True


def _layer_returns_tensor(name: str) -> bool:
    if not name.startswith("torch.nn.") or name.startswith("torch.nn.functional."):
        return False
    last = name.rsplit(".", 1)[-1]
    return last[:1].isupper() and last not in _NOT_TENSOR_LAYERS and "." not in name[len("torch.nn."):]
