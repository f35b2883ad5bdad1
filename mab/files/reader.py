"""The one reader of files that come from a repository (or any place mab does not own).

A repository can hold anything where a file is expected: a FIFO (a read would wait forever), a
symbolic link to `/dev/zero` (a read would never end), a file of gigabytes, a YAML alias bomb
(a few hundred bytes that expand to billions of nodes). Every read goes through here:

- `read_bytes` / `read_text` open without blocking, check on the open file that it is a
  regular file, and read at most `limit` bytes: anything else is an `UnsafeFileError` naming
  the file. A missing file stays a `FileNotFoundError` (or `NotADirectoryError`), which callers
  treat as absent; other `OSError`s become `UnreadableFileError`, with the system's reason.
- `load_yaml` parses YAML text into plain data within a budget: the document, its aliases
  expanded, may hold at most `YAML_MAX_NODES` nodes (or four times its own size, if larger).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mab.errors import UserError

if TYPE_CHECKING:  # yaml is imported by the YAML reader alone (a Dockerfile read needs none)
    import yaml

__all__ = [
    "MAX_BYTES",
    "YAML_MAX_NODES",
    "UnreadableFileError",
    "UnsafeFileError",
    "YamlBudgetError",
    "load_yaml",
    "read_bytes",
    "read_text",
]

MAX_BYTES = 16 * 1024 * 1024  # far above any real compose, bake, config, env file or Makefile
YAML_MAX_NODES = 1_000_000
_MISSING = (errno.ENOENT, errno.ENOTDIR)


class UnreadableFileError(UserError):
    """A file exists but cannot be read (permissions, I/O error)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(
            f"{where}: cannot read ({reason})", hint="fix its permissions, then run again"
        )
        self.where = where
        self.reason = reason


class UnsafeFileError(UserError):
    """A file that is not an ordinary file of reasonable size (a FIFO, a device, gigabytes)."""

    def __init__(self, where: str, reason: str, *, oversize: bool = False) -> None:
        super().__init__(
            f"{where}: {reason}; mab reads only regular files of bounded size",
            hint="replace it with an ordinary file (or remove it), then run again",
        )
        self.where = where
        self.reason = reason
        self.oversize = oversize


class YamlBudgetError(UserError):
    """A YAML document whose aliases expand beyond the budget (an alias bomb)."""

    def __init__(self, where: str, nodes: int, limit: int) -> None:
        super().__init__(
            f"{where}: its YAML aliases expand to over {limit:,} nodes ({nodes:,} written); "
            "mab refuses a document that large (an alias bomb?)",
            hint="write the repeated parts out, or use fewer nested aliases, then run again",
        )
        self.where = where


def _size(limit: int) -> str:
    return f"{limit // 1024 // 1024} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file"
    if stat.S_ISDIR(mode):
        return "a folder, not a regular file"
    return "not a regular file"


def read_bytes(path: Path, *, limit: int = MAX_BYTES, where: str | None = None) -> bytes:
    """At most `limit` bytes of the regular file at `path` (its symbolic links followed)."""
    name = where or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in _MISSING:
            raise
        raise UnreadableFileError(name, exc.strerror or str(exc)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnsafeFileError(name, _kind(mode))
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1024 * 1024, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise UnreadableFileError(name, exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if size > limit:
        raise UnsafeFileError(name, f"it is over {_size(limit)}", oversize=True)
    return b"".join(chunks)


def read_text(
    path: Path, *, limit: int = MAX_BYTES, where: str | None = None, strict: bool = True
) -> str:
    """The file as UTF-8 text; with `strict`, bytes that are not UTF-8 are a `UserError`,
    otherwise they become U+FFFD."""
    raw = read_bytes(path, limit=limit, where=where)
    try:
        return raw.decode("utf-8", "strict" if strict else "replace")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{where or path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


def _expanded(node: yaml.Node, limit: int) -> int:
    """The number of nodes in `node` with every alias expanded (stops counting past `limit`).
    Aliased nodes are the same object, so each is sized once."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        key = id(current)
        if done:
            total = 1
            for child in _children(current):
                total += sizes.get(id(child), 1)  # a node still open is a recursive alias
            sizes[key] = min(total, limit + 1)
            continue
        if key in sizes:
            continue
        sizes[key] = 1  # open: a recursive alias to it counts once
        stack.append((current, True))
        stack.extend((child, False) for child in _children(current) if id(child) not in sizes)
    return sizes[id(node)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    value = node.value
    if not isinstance(value, list):  # a scalar
        return []
    if value and isinstance(value[0], tuple):  # a mapping: (key, value) pairs
        return [part for pair in value for part in pair]
    return list(value)


def _count(node: yaml.Node) -> int:
    """Nodes as written (each aliased node once)."""
    seen: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        stack.extend(_children(current))
    return len(seen)


def load_yaml(text: str, where: str) -> Any:
    """YAML `text` as plain data, within the alias budget. Raises `yaml.YAMLError` for what
    is not YAML (the caller words it) and `YamlBudgetError` for an alias bomb."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "*" in text:  # only aliases can expand a document
            written = _count(node)
            limit = max(YAML_MAX_NODES, 4 * written)
            if _expanded(node, limit) > limit:
                raise YamlBudgetError(where, written, limit)
        return loader.construct_document(node)
    finally:
        loader.dispose()
