"""Translatable text made while checking: a template with named placeholders and its arguments.

A rule writes ``t("`{name}.step()` (line {line}) runs ...", name=name, line=step.line)``. The
template is the gettext msgid (``pybabel extract`` finds it through the ``t`` keyword); the
English text is ``template.format(**args)``, exactly what the f-string used to give, and another
language formats the translated template with the same arguments. An argument that is itself
English made by code ("training", "only once before the loop") is a :class:`Message` too, so it
has its own msgid and is translated before it is put in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from nnlint.i18n import DOCS_DOMAIN, MESSAGES_DOMAIN, SOURCE_LANGUAGE, translate

Argument = Union[str, int, float, "Message"]


@dataclass(frozen=True)
class Message:
    """An English template, its named arguments and the gettext domain of the template."""

    template: str
    args: tuple[tuple[str, Argument], ...] = ()
    domain: str = MESSAGES_DOMAIN

    def __init__(self, template: str, args: tuple[tuple[str, Argument], ...] = (), domain: str = MESSAGES_DOMAIN) -> None:
        # What the generated frozen __init__ does (one `object.__setattr__` per field), in
        # plain dictionary writes at half the cost: rules make a message for every
        # candidate they weigh. The instance stays frozen (assignment still raises).
        fields = self.__dict__
        fields["template"] = template
        fields["args"] = args
        fields["domain"] = domain

    def render(self, lang: str = SOURCE_LANGUAGE) -> str:
        """The text in ``lang``; English when ``lang`` is English or the template is untranslated."""
        # Every finding and related line renders its English text when it is made (a few
        # hundred per small file), so English skips the catalog lookup, and the arguments
        # are gathered in a plain loop (a comprehension is one more frame per message).
        template = self.template if lang == SOURCE_LANGUAGE else translate(self.template, lang, self.domain)
        values = {}
        for key, value in self.args:
            values[key] = value.render(lang) if isinstance(value, Message) else value
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            # a translation that names a placeholder the code does not give must not lose the message
            return self.template.format(**values)

    def __str__(self) -> str:
        return self.render()

    def __add__(self, other: "Message | str") -> "Message":
        """``message + note``: the two parts side by side, each translated on its own."""
        return Message("{left}{right}", (("left", self), ("right", other)))

    def __radd__(self, other: str) -> "Message":
        return Message("{left}{right}", (("left", other), ("right", self)))

    # --------------------------------------------------------------- serialised form
    def to_data(self) -> dict[str, object]:
        data: dict[str, object] = {"t": self.template}
        if self.args:
            data["a"] = {key: value.to_data() if isinstance(value, Message) else value for key, value in self.args}
        if self.domain != MESSAGES_DOMAIN:
            data["d"] = self.domain
        return data

    @classmethod
    def from_data(cls, data: dict) -> "Message":  # type: ignore[type-arg]
        args = tuple(
            (key, cls.from_data(value) if isinstance(value, dict) else value)
            for key, value in dict(data.get("a") or {}).items()
        )
        return cls(str(data["t"]), args, str(data.get("d") or MESSAGES_DOMAIN))


def _argument(value: object) -> Argument:
    # numbers keep their type so a format spec such as {lr:g} still applies; anything else is
    # formatted the way the f-string did it (format(value, '') is str(value) for these)
    if isinstance(value, (Message, str, int, float)):
        return value
    return format(value, "")


def _arguments(args: dict[str, object]) -> tuple[tuple[str, Argument], ...]:
    # rules make messages on every candidate they weigh, reported or not: a plain loop, and
    # `_argument` only for what is not already a string or a number
    found = []
    for key, value in args.items():
        found.append((key, value if type(value) in _KEPT else _argument(value)))
    return tuple(found)


_KEPT = frozenset({str, int, float, Message})  # exactly these types: `_argument` keeps them as they are


def t(template: str, /, **args: object) -> Message:
    """A message of the ``nnlint`` domain: ``template`` (the msgid) with its named arguments."""
    return Message(template, _arguments(args))


def t_docs(template: str, /, **args: object) -> Message:
    """A template of the ``nnlint-docs`` domain formatted at check time (a rule's ``fix_title``)."""
    return Message(template, _arguments(args), DOCS_DOMAIN)


def render(text: "str | Message", lang: str = SOURCE_LANGUAGE) -> str:
    return text.render(lang) if isinstance(text, Message) else text
