"""The one module that reads and writes YAML files.

- `read_data` reads a file (`mab.files.reader`: regular files of bounded size, aliases
  within a budget) and parses it into plain data (compose files, config) with a `path:line` error;
  `line_of` finds the line of a key path, for errors found after parsing.
- `load_roundtrip` / `dump_roundtrip` keep comments, key order and quoting (ruamel.yaml), so
  re-running `mab init-ci` keeps what the user wrote.
- Every string that a YAML 1.1 parser (pyyaml, GitLab's Psych) would read as something else —
  `on`, `yes`, `off`, `010`, `1_000`, `12:30` — is quoted on output, so 1.1 and 1.2 parsers agree.
- `write_atomic` never leaves a half-written file behind.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mab.errors import InvalidYamlError, UserError
from mab.files.reader import load_yaml, read_text

if TYPE_CHECKING:  # ruamel.yaml is imported by the functions that edit, not by those that read
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.representer import RoundTripRepresenter
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

_RESOLVER_11 = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"


def ambiguous_in_yaml11(value: str) -> bool:
    """True when a plain scalar `value` would not read back as a string under YAML 1.1 or 1.2."""
    tag_11 = _RESOLVER_11.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag_11 != _STR_TAG or value != value.strip() or value == "")


def _represent_str(representer: RoundTripRepresenter, data: str) -> Any:
    from ruamel.yaml.scalarstring import ScalarString

    if isinstance(data, ScalarString):
        return representer.represent_str(data)
    if any(not c.isprintable() and c != "\n" for c in data):
        return representer.represent_scalar(_STR_TAG, data, style='"')
    if "\n" in data and data == data.lstrip(" ") and not data.endswith(" "):
        return representer.represent_scalar(_STR_TAG, data, style="|")
    if ambiguous_in_yaml11(data):
        return representer.represent_scalar(_STR_TAG, data, style='"')
    return representer.represent_str(data)


@functools.cache
def _representer() -> type[RoundTripRepresenter]:
    from ruamel.yaml.representer import RoundTripRepresenter

    class _Representer(RoundTripRepresenter):
        pass

    _Representer.add_representer(str, _represent_str)
    return _Representer


def _yaml() -> YAML:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.Representer = _representer()
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    y.preserve_quotes = True
    return y


def _problem_line(exc: yaml.MarkedYAMLError | MarkedYAMLError, text: str) -> tuple[int | None, str]:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = str(exc.problem or exc.context or "invalid YAML")
    lines = text.splitlines()
    if line is not None and 0 < line <= len(lines):
        indent = lines[line - 1][: len(lines[line - 1]) - len(lines[line - 1].lstrip())]
        if "\t" in indent:  # the parsers' words for it do not say "tab"
            problem += " (a tab in the indentation: YAML indents with spaces only)"
    return line, problem


def parse_data(text: str, where: str) -> Any:
    """Parse YAML text into plain Python data; `where` names it in errors."""
    try:
        return load_yaml(text, where)
    except yaml.MarkedYAMLError as exc:
        line, problem = _problem_line(exc, text)
        raise InvalidYamlError(where, line, problem) from None
    except yaml.YAMLError as exc:
        raise InvalidYamlError(where, None, str(exc)) from None


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest node found along `path` (mapping keys, list indexes) in
    YAML `text`: the key's line for a mapping entry, the item's for a list entry."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if getattr(k, "value", None) == str(part)]
            if not found:
                break
            line, node = found[0][0].start_mark.line + 1, found[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def read_data(path: Path, where: str | None = None) -> Any:
    """A YAML file from the repository as plain data, read by `mab.files.reader`."""
    try:
        text = read_text(path, where=where)
    except OSError as exc:  # missing
        raise UserError(f"{where or path}: cannot read ({exc.strerror})") from None
    return parse_data(text, where or str(path))


def load_roundtrip(text: str, where: str) -> Any:
    """Parse for editing: comments, order and quotes are kept. Also checked with pyyaml, so a
    file that only one of the two parsers accepts is refused."""
    from ruamel.yaml.error import MarkedYAMLError

    parse_data(text, where)
    try:
        return _yaml().load(text)
    except MarkedYAMLError as exc:
        line, problem = _problem_line(exc, text)
        raise InvalidYamlError(where, line, problem) from None
    except Exception as exc:  # ruamel raises a few unmarked errors (duplicate keys, ...)
        raise InvalidYamlError(where, None, str(exc).splitlines()[0]) from None


def dump_roundtrip(data: Any) -> str:
    buf = io.StringIO()
    _yaml().dump(data, buf)
    return buf.getvalue()


def to_commented(data: Any) -> Any:
    """Plain dicts/lists to ruamel's commented containers (so comments can be attached)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(data, CommentedMap | CommentedSeq):
        return data
    if isinstance(data, dict):
        cm = CommentedMap()
        for k, v in data.items():
            cm[k] = to_commented(v)
        return cm
    if isinstance(data, list | tuple):
        return CommentedSeq(to_commented(v) for v in data)
    return data


def quoted(value: str) -> DoubleQuotedScalarString:
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    return DoubleQuotedScalarString(value)  # type: ignore[no-any-return]


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename, keeping the file's mode."""
    from mab.files.writeset import temp_beside

    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    tmp = temp_beside(path, text.encode("utf-8"), mode)
    try:
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
