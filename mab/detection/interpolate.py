"""Compose variable interpolation and `.env` files. Pure.

Compose replaces `$VAR`, `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}`
(unset), `${VAR:?error}`, `${VAR?error}`, `${VAR:+replacement}`, `${VAR+replacement}` and
`$$` (a literal `$`) in a compose file's values, taking variables from the shell and from the
`.env` file of the project directory. mab reads only the `.env` file: the pipelines it writes
run in CI, where this machine's shell variables do not exist. A value that needs a variable
neither `.env` nor a default provides is reported as unresolved, never returned with the
`${...}` text still in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*?)\s*$")


class Unresolved(Exception):
    """A variable that compose would need and mab cannot know; `message` says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class _Parser:
    text: str
    env: Mapping[str, str]
    pos: int = 0

    def run(self, stop: str = "") -> str:
        """Interpolate until the end, or until an unnested `stop` character (not consumed)."""
        out: list[str] = []
        depth = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if stop and char == stop and depth == 0:
                return "".join(out)
            if char != "$":
                if stop and char == "{":
                    depth += 1
                elif stop and char == "}":
                    depth -= 1
                out.append(char)
                self.pos += 1
                continue
            out.append(self._dollar())
        if stop:
            raise Unresolved(f"unclosed `${{` in {self.text!r}")
        return "".join(out)

    def _dollar(self) -> str:
        rest = self.text[self.pos + 1 :]
        if rest.startswith("$"):
            self.pos += 2
            return "$"
        if rest.startswith("{"):
            self.pos += 2
            return self._braced()
        name = _NAME.match(rest)
        if name is None:  # a lone `$`: compose keeps it
            self.pos += 1
            return "$"
        self.pos += 1 + name.end()
        return self._value(name.group(0))

    def _value(self, name: str) -> str:
        if name not in self.env:
            raise Unresolved(f"variable {name} is not set")
        return self.env[name]

    def _braced(self) -> str:
        name = _NAME.match(self.text, self.pos)
        if name is None:
            raise Unresolved(f"invalid variable reference in {self.text!r}")
        var = name.group(0)
        self.pos = name.end()
        operator = ""
        for candidate in (":-", ":?", ":+", "-", "?", "+"):
            if self.text.startswith(candidate, self.pos):
                operator = candidate
                break
        self.pos += len(operator)
        if not operator and not self.text.startswith("}", self.pos):
            raise Unresolved(f"invalid variable reference in {self.text!r}")
        word = self.run(stop="}") if operator else ""
        self.pos += 1  # the closing brace
        value = self.env.get(var)
        empty = value is None or (operator.startswith(":") and value == "")
        if operator in (":-", "-"):
            return word if empty else str(value)
        if operator in (":+", "+"):
            return "" if empty else word
        if operator in (":?", "?"):
            if empty:
                raise Unresolved(f"variable {var} is required ({word or 'no message'})")
            return str(value)
        return self._value(var)


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """`text` with compose's variable syntax replaced from `env`; raises `Unresolved`."""
    return _Parser(text, env).run()


def parse_env_file(text: str) -> dict[str, str]:
    """A compose `.env` file: `KEY=value` lines (`export` allowed), `#` comments, single
    quotes (literal), double quotes (with `\\n` escapes), and `${VAR}` references to earlier
    keys in unquoted and double-quoted values."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if match is None:
            continue
        key, raw = match.group(1), match.group(2)
        if len(raw) >= 2 and raw[0] == raw[-1] == "'":
            env[key] = raw[1:-1]
            continue
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1].replace("\\n", "\n").replace('\\"', '"')
        else:
            raw = re.sub(r"\s+#.*$", "", raw)
        try:
            env[key] = interpolate(raw, env)
        except Unresolved:
            continue  # left unset: a value that uses it is reported as unresolved
    return env
