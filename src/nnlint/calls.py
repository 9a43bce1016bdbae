"""The call sites of a module grouped by what they call, for the analyses and rules that
look for a few callee names or method names: a dictionary lookup instead of a pass over
every call (`sem.calls`) with `sem.call_name` per question.

Built once per module index through `Semantic.analysis` (kept and released with it)."""

from __future__ import annotations

import ast
from typing import Callable, Iterable

from nnlint.semantic import CallSite, Semantic


class CallIndex:
    """`sem.calls` by qualified callee name (`Semantic.call_name`) and by method name.
    Every answer lists sites in the order of `sem.calls`."""

    def __init__(self, sem: Semantic) -> None:
        self.sem = sem
        by_name: dict[str | None, list[CallSite]] = {}
        by_method: dict[str, list[CallSite]] = {}
        on_self: list[CallSite] = []
        by_callee_kind: dict[type, list[CallSite]] = {}
        for site, name in zip(sem.calls, sem.all_call_names()):
            found = by_name.get(name)
            if found is None:
                by_name[name] = [site]
            else:
                found.append(site)
            method = site.method
            if method is not None:
                found = by_method.get(method)
                if found is None:
                    by_method[method] = [site]
                else:
                    found.append(site)
                receiver = site.receiver
                if type(receiver) is ast.Name and receiver.id == "self":
                    on_self.append(site)
            else:
                kind = type(site.node.func)
                if kind is not ast.Name:
                    by_callee_kind.setdefault(kind, []).append(site)
        self._by_name = by_name
        self._by_method = by_method
        self._order: dict[CallSite, int] | None = None
        self._matching: dict[Callable[[str | None], bool], list[CallSite]] = {}
        self._on_self = on_self
        self._by_callee_kind = by_callee_kind

    def named(self, names: Iterable[str | None]) -> list[CallSite]:
        """The calls whose qualified name is one of `names`."""
        return self._merge([self._by_name[name] for name in names if name in self._by_name])

    def matching(self, test: Callable[[str | None], bool]) -> list[CallSite]:
        """The calls whose qualified name passes `test` (asked once per distinct name; the
        answer is kept per test function: several rules ask `is_optimizer_constructor`)."""
        found = self._matching.get(test)
        if found is None:
            found = self._matching[test] = self._merge([sites for name, sites in self._by_name.items() if test(name)])
        return list(found)

    def methods(self, methods: Iterable[str]) -> list[CallSite]:
        """The method calls (`x.step()`) of one of `methods`."""
        return self._merge([self._by_method[name] for name in methods if name in self._by_method])

    def on_self(self) -> list[CallSite]:
        """The method calls on `self` (`self.layer(x)`, `self.helper()`)."""
        return list(self._on_self)

    def callee_kind(self, kind: type) -> list[CallSite]:
        """The calls of a callee that is neither a name nor an attribute: `ast.Call` for
        `nn.Softmax(dim=0)(x)`, `ast.Subscript` for `self.layers[i](x)`."""
        return list(self._by_callee_kind.get(kind, ()))

    def either(self, *answers: list[CallSite]) -> list[CallSite]:
        """The sites of several answers, each once, in the order of `sem.calls`."""
        unique = {id(site): site for answer in answers for site in answer}
        return self._sorted(list(unique.values()))

    def _merge(self, groups: list[list[CallSite]]) -> list[CallSite]:
        """One list in the order of `sem.calls` (each group of the index is in that order)."""
        if len(groups) <= 1:
            return list(groups[0]) if groups else []
        return self._sorted([site for group in groups for site in group])

    def _sorted(self, sites: list[CallSite]) -> list[CallSite]:
        if self._order is None:
            # keyed by the sites themselves (hashed by identity): made and read in C, no
            # Python frame per site
            calls = self.sem.calls
            self._order = dict(zip(calls, range(len(calls))))
        return sorted(sites, key=self._order.__getitem__)


def call_index(sem: Semantic) -> CallIndex:
    return sem.analysis(CallIndex)
