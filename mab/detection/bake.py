"""Bake files (`docker-bake.hcl`, `docker-bake.json`): the images their targets build. Pure.

The HCL reader covers what bake files use for builds: `target "name" { ... }` blocks with
strings, numbers, booleans, lists and maps; `variable` blocks whose defaults fill `${VAR}`;
`inherits`. Groups and functions are ignored. An attribute it cannot read (a function call, an
operator) is skipped with a warning if it matters; a file it cannot read at all gives a warning.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mab.detection.compose import BuildSpec, is_remote_context, scalar, shown_context

BAKE_FILES = (
    "docker-bake.hcl",
    "docker-bake.json",
    "docker-bake.override.hcl",
    "docker-bake.override.json",
)
_ESSENTIAL = frozenset({"context", "dockerfile", "target", "dockerfile-inline"})
_READ = _ESSENTIAL | {"args", "platforms", "inherits"}

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r]+)
  | (?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<nl>\n)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<heredoc><<-?[A-Za-z_][A-Za-z0-9_]*[ \t]*\n)
  | (?P<number>-?[0-9]+(?:\.[0-9]+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
  | (?P<punct>[{}\[\]=,:()])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_INTERPOLATION = re.compile(r"\$\$\{|\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


class _Unreadable(Exception):
    def __init__(self, problem: str, line: int) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


class _BadExpression(Exception):
    pass


@dataclass(frozen=True)
class _Token:
    kind: str  # "nl", "string", "number", "ident", "other", or the punctuation itself
    text: str
    line: int


@dataclass(frozen=True)
class _Unknown:
    """An attribute value the reader cannot evaluate."""

    line: int


def bake_specs(
    text: str, where: str, wanted: tuple[str, ...] = ()
) -> tuple[list[BuildSpec], list[str]]:
    """The images a bake file builds (JSON when `where` ends in `.json`, else HCL), and warnings
    (each starting with `where`). As `docker buildx bake [TARGET...]` does: the `wanted` targets
    or groups, else the `default` group (or target); without one, every target that no other
    inherits from. Targets that write files (`output` of type local, tar or cacheonly, or a
    path) are no images; when the default writes files only, the targets whose `output` says
    they are images are."""
    warnings: list[str] = []
    try:
        if where.endswith(".json"):
            variables, targets, groups = _from_json(text)
        else:
            variables, targets, groups = _from_hcl(text)
    except _Unreadable as exc:
        return [], [f"{where}:{exc.line}: cannot read this bake file ({exc.problem})"]
    except RecursionError:
        return [], [f"{where}: cannot read this bake file (nested too deeply)"]
    defaults = _variable_defaults(variables)
    parents = {p for t in targets.values() for p in _names(t.get("inherits"))}
    asked = wanted or (("default",) if "default" in groups or "default" in targets else ())
    if asked:
        chosen = _expand(asked, targets, groups, set())
    else:
        chosen = [name for name in targets if name not in parents]
    if not wanted and all(_writes_files(_resolve(n, targets, set()).get("output")) for n in chosen):
        # the default writes files only: the images are the targets that say they are images
        chosen = [n for n in targets if _is_image(_resolve(n, targets, set()).get("output"))]
    specs: list[BuildSpec] = []
    for name in chosen:
        attrs = _resolve(name, targets, set())
        if _writes_files(attrs.get("output")):
            continue
        spec, problems = _spec(name, attrs, defaults)
        warnings.extend(f"{where}: target {name}: {p}" for p in problems)
        if spec is not None:
            specs.append(spec)
    return specs, warnings


# --- evaluation (shared by HCL and JSON) -------------------------------------------------


def _expand(
    names: tuple[str, ...] | list[str],
    targets: dict[str, Any],
    groups: dict[str, Any],
    seen: set[str],
) -> list[str]:
    """Target names of `names`, with groups expanded (a group may name groups)."""
    out: list[str] = []
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        if name in groups and name not in targets:
            members = _names(groups[name].get("targets") if isinstance(groups[name], dict) else [])
            out += [n for n in _expand(members, targets, groups, seen) if n not in out]
        elif name in targets and name not in out:
            out.append(name)
    return out


def _is_image(output: Any) -> bool:
    values = output if isinstance(output, list) else [output]
    return any(
        isinstance(v, str) and re.search(r"type=(image|registry|docker)\b", v) for v in values
    )


def _writes_files(output: Any) -> bool:
    """True when the target exports files: `type=local|tar|cacheonly`, or a bare path."""
    values = output if isinstance(output, list) else [output]
    return any(
        isinstance(v, str) and (re.search(r"type=(local|tar|cacheonly)\b", v) or "type=" not in v)
        for v in values
    )


def _variable_defaults(variables: dict[str, Any]) -> dict[str, str]:
    defaults: dict[str, str] = {}
    for name, body in variables.items():
        default = body.get("default") if isinstance(body, dict) else None
        if default is not None and not isinstance(default, _Unknown | dict | list):
            defaults[name] = _interpolate(scalar(default), defaults)
    return defaults


def _resolve(name: str, targets: dict[str, dict[str, Any]], seen: set[str]) -> dict[str, Any]:
    own = targets.get(name, {})
    attrs: dict[str, Any] = {}
    for parent in _names(own.get("inherits")):
        if parent in targets and parent not in seen and parent != name:
            _merge(attrs, _resolve(parent, targets, seen | {name}))
    _merge(attrs, own)
    return attrs


def _merge(into: dict[str, Any], attrs: dict[str, Any]) -> None:
    for key, value in attrs.items():
        if key == "args" and isinstance(value, dict) and isinstance(into.get("args"), dict):
            into["args"] = {**into["args"], **value}
        else:
            into[key] = value


def _names(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _spec(
    name: str, attrs: dict[str, Any], defaults: dict[str, str]
) -> tuple[BuildSpec | None, list[str]]:
    unknown = {k: v.line for k, v in attrs.items() if k in _READ and isinstance(v, _Unknown)}
    problems = [f"line {line}: cannot evaluate `{key}`" for key, line in unknown.items()]
    if unknown.keys() & _ESSENTIAL:
        return None, [f"{p} (target skipped)" for p in problems]
    problems = [f"{p} (ignored)" for p in problems]
    values = {k: v for k, v in attrs.items() if not isinstance(v, _Unknown)}

    def text(key: str, default: str | None = None) -> str | None:
        value = values.get(key)
        if value is None or isinstance(value, dict | list):
            return default
        return _interpolate(scalar(value), defaults)

    if values.get("dockerfile-inline") is not None:
        return None, [*problems, "skipped: `dockerfile-inline` has no Dockerfile to analyse"]
    context = text("context", ".") or "."
    if is_remote_context(context):
        shown = shown_context(context)
        return None, [*problems, f"skipped: context {shown} is not a local directory"]
    raw_args = values.get("args")
    args = raw_args if isinstance(raw_args, dict) else {}
    platforms = values.get("platforms")
    spec = BuildSpec(
        name=name,
        context=context,
        dockerfile=text("dockerfile", "Dockerfile") or "Dockerfile",
        target=text("target"),
        args=tuple(
            (str(k), _interpolate(scalar(v), defaults))
            for k, v in args.items()
            if v is not None and not isinstance(v, _Unknown | dict | list)
        ),
        platforms=tuple(_interpolate(scalar(p), defaults) for p in platforms if isinstance(p, str))
        if isinstance(platforms, list)
        else (),
    )
    return spec, problems


def _interpolate(value: str, defaults: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        return defaults.get(match.group(1), match.group(0))

    return _INTERPOLATION.sub(replace, value)


# --- JSON --------------------------------------------------------------------------------


def _from_json(text: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Unreadable(exc.msg, exc.lineno) from None
    if not isinstance(data, dict):
        raise _Unreadable("expected an object at the top", 1)
    variables = data.get("variable")
    targets = data.get("target")
    groups = data.get("group")
    return (
        variables if isinstance(variables, dict) else {},
        {str(k): v for k, v in targets.items() if isinstance(v, dict)}
        if isinstance(targets, dict)
        else {},
        groups if isinstance(groups, dict) else {},
    )


# --- HCL ---------------------------------------------------------------------------------


def _from_hcl(text: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, Any]]:
    parser = _Parser(_tokens(text))
    variables: dict[str, Any] = {}
    targets: dict[str, dict[str, Any]] = {}
    groups: dict[str, Any] = {}
    for kind, labels, body in parser.blocks():
        if not labels:
            continue
        if kind == "variable":
            variables[labels[0]] = body
        elif kind == "target":
            targets.setdefault(labels[0], {}).update(body)
        elif kind == "group":
            groups.setdefault(labels[0], {}).update(body)
    return variables, targets, groups


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    line = 1
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # pragma: no cover - the `other` group matches any character
            break
        kind = match.lastgroup or "other"
        raw = match.group(0)
        pos = match.end()
        if kind == "heredoc":
            body, pos = _heredoc(text, pos, raw)
            tokens.append(_Token("string", body, line))
            line += raw.count("\n") + body.count("\n")
            continue
        if kind == "string":
            tokens.append(_Token("string", _unescape(raw[1:-1]), line))
        elif kind == "punct":
            tokens.append(_Token(raw, raw, line))
        elif kind in ("nl", "number", "ident", "other"):
            tokens.append(_Token(kind, raw, line))
        line += raw.count("\n")
    return tokens


def _heredoc(text: str, pos: int, opener: str) -> tuple[str, int]:
    marker = opener.strip().lstrip("<-")
    end = re.compile(rf"^[ \t]*{re.escape(marker)}[ \t]*$", re.MULTILINE).search(text, pos)
    if end is None:
        raise _Unreadable(f"heredoc {marker} is not closed", text.count("\n", 0, pos))
    return text[pos : end.start()], end.end()


def _unescape(raw: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), raw)


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1].line if self.tokens else 1
            raise _Unreadable("unexpected end of file", last)
        self.pos += 1
        return token

    def skip_newlines(self) -> None:
        while (token := self.peek()) is not None and token.kind in ("nl", ","):
            self.pos += 1

    def blocks(self) -> list[tuple[str, list[str], dict[str, Any]]]:
        """The top-level blocks: (type, labels, attributes). Top-level attributes are dropped."""
        found: list[tuple[str, list[str], dict[str, Any]]] = []
        while True:
            self.skip_newlines()
            if self.peek() is None:
                return found
            kind, labels, body = self.item()
            if labels is not None:
                found.append((kind, labels, body))

    def item(self) -> tuple[str, list[str] | None, dict[str, Any]]:
        """An attribute `name = value` (labels None) or a block `type "label" { ... }`."""
        name = self.take()
        if name.kind != "ident":
            raise _Unreadable(f"unexpected {name.text!r}", name.line)
        following = self.peek()
        if following is not None and following.kind == "=":
            self.pos += 1
            return name.text, None, {name.text: self.expression()}
        labels: list[str] = []
        while (token := self.take()).kind in ("string", "ident"):
            labels.append(token.text)
        if token.kind != "{":
            raise _Unreadable(f"expected '{{' after {name.text}, found {token.text!r}", token.line)
        return name.text, labels, self.block_body()

    def block_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        while True:
            self.skip_newlines()
            token = self.peek()
            if token is not None and token.kind == "}":
                self.pos += 1
                return body
            key, labels, attrs = self.item()
            if labels is None:
                body.update(attrs)
            else:
                body.setdefault(key, []).append(attrs)  # nested blocks: kept, never read

    def expression(self) -> Any:
        start = self.pos
        line = self.tokens[start].line if start < len(self.tokens) else 1
        try:
            value = self.value()
            token = self.peek()
            if token is not None and token.kind not in ("nl", ",", "}", "]"):
                raise _BadExpression
            return value
        except (_BadExpression, _Unreadable):
            self.pos = start
            self.skip_expression()
            return _Unknown(line)

    def skip_expression(self) -> None:
        depth = 0
        while (token := self.peek()) is not None:
            if depth == 0 and token.kind in ("nl", ",", "}", "]"):
                return
            if token.kind in ("(", "[", "{"):
                depth += 1
            elif token.kind in (")", "]", "}"):
                depth -= 1
            self.pos += 1

    def value(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return token.text
        if token.kind == "number":
            return token.text
        if token.kind == "ident":
            if token.text in ("true", "false"):
                return token.text == "true"
            if token.text == "null":
                return None
            following = self.peek()
            if following is not None and following.kind in ("(", "."):
                raise _BadExpression
            return "${" + token.text + "}"  # a bare variable reference
        if token.kind == "[":
            return self.sequence()
        if token.kind == "{":
            return self.mapping()
        raise _BadExpression

    def sequence(self) -> list[Any]:
        items: list[Any] = []
        while True:
            self.skip_newlines()
            token = self.peek()
            if token is not None and token.kind == "]":
                self.pos += 1
                return items
            items.append(self.value())

    def mapping(self) -> dict[str, Any]:
        items: dict[str, Any] = {}
        while True:
            self.skip_newlines()
            key = self.take()
            if key.kind == "}":
                return items
            if key.kind not in ("string", "ident") or self.take().kind not in ("=", ":"):
                raise _BadExpression
            items[key.text] = self.value()
