"""The part of GitHub's expression language that `actions/build/action.yml` uses, evaluated the
way a runner does, for the harness.

Supported: `${{ … }}` templates; context paths (`inputs.x`, `github.action_path`,
`steps.<id>.outputs.<name>`, `env.X`, `runner.temp`, …, with `-` in names); string, number,
boolean and null literals; `==`, `!=` (strings compared case-insensitively, other mixes as
numbers), `!`, `&&`, `||` (which yield an operand, as GitHub's do) and parentheses. Anything
else is refused loudly, so the action cannot grow an expression the harness would get wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Value = str | float | bool | None

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\))"
    r"|(?P<path>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*))"
)
_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.S)


class ExpressionError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"cannot read {text[pos:]!r} in {text!r}")
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def truthy(value: Value) -> bool:
    return value not in ("", None, False, 0.0)


def text_of(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return value


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], contexts: Mapping[str, Any]) -> None:
        self.tokens = tokens
        self.i = 0
        self.contexts = contexts

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise ExpressionError("the expression ends too early")
        self.i += 1
        return self.tokens[self.i - 1]

    def parse(self) -> Value:
        value = self.or_()
        if self.i != len(self.tokens):
            raise ExpressionError(f"unexpected {self.peek()!r}")
        return value

    def or_(self) -> Value:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Value:
        value = self.compare()
        while self.peek() == "&&":
            self.take()
            right = self.compare()
            value = right if truthy(value) else value
        return value

    def compare(self) -> Value:
        value = self.unary()
        while self.peek() in ("==", "!="):
            op = self.take()[1]
            right = self.unary()
            same = _equal(value, right)
            value = same if op == "==" else not same
        return value

    def unary(self) -> Value:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        if self.peek() == "(":
            self.take()
            value = self.or_()
            if self.take()[1] != ")":
                raise ExpressionError("a parenthesis is not closed")
            return value
        kind, text = self.take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if kind == "path":
            return self.lookup(text)
        raise ExpressionError(f"unexpected {text!r}")

    def lookup(self, path: str) -> Value:
        if path in ("true", "false"):
            return path == "true"
        if path == "null":
            return None
        head, *rest = path.split(".")
        if head not in self.contexts:
            raise ExpressionError(f"the harness knows no context {head!r} (in {path!r})")
        node: Any = self.contexts[head]
        for part in rest:
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping):
            raise ExpressionError(f"{path} is an object, not a value")
        return node if node is None or isinstance(node, str | bool | float) else str(node)


def _number(value: Value) -> float:
    """GitHub's coercion for comparing values of different types."""
    if value is None:
        return 0.0
    if isinstance(value, bool | float):
        return float(value)
    try:
        return float(value.strip() or "0")
    except ValueError:
        return float("nan")


def _equal(a: Value, b: Value) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b):
        return a == b
    return _number(a) == _number(b)


def evaluate(expression: str, contexts: Mapping[str, Any]) -> Value:
    """One expression, without `${{ }}` (as in `if:`)."""
    return _Parser(_tokens(expression), contexts).parse()


def render(template: str, contexts: Mapping[str, Any]) -> str:
    """A string with `${{ … }}` parts replaced by their values as text."""
    return _TEMPLATE.sub(lambda m: text_of(evaluate(m.group(1), contexts)), template)


def condition(text: str | bool | None, contexts: Mapping[str, Any]) -> bool:
    """An `if:`: absent means run; `${{ }}` around it is optional."""
    if text is None:
        return True
    if isinstance(text, bool):
        return text
    stripped = text.strip()
    match = _TEMPLATE.fullmatch(stripped)
    return truthy(evaluate(match.group(1) if match else stripped, contexts))
