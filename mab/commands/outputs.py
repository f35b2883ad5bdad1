"""Files a command writes on request (`--trace FILE`, `mab report -o FILE`): checked before any
work starts, written whole (a temporary file renamed into place) or not at all."""

from __future__ import annotations

import errno
from pathlib import Path

from mab.errors import UserError, WriteError
from mab.files.yamlio import write_atomic
from mab.progress.model import BuildModel
from mab.progress.summary import Summary
from mab.progress.timeline import timeline_of
from mab.progress.trace import trace_json

__all__ = ["check_output", "write_output", "write_trace"]


def check_output(path: str, option: str) -> Path:
    """`path` as a file mab may write: not a folder, in a folder that exists."""
    target = Path(path)
    if target.is_dir():
        raise UserError(f"{option} {path}: is a folder", hint=f"name a file, e.g. {path}/out")
    if not target.parent.is_dir():
        raise UserError(
            f"{option} {path}: the folder {target.parent} does not exist",
            hint="create it first, or name a file in an existing folder",
        )
    return target


def write_output(target: Path, text: str, what: str) -> None:
    """Write `text` whole, or raise a WriteError naming the file and the cause."""
    try:
        write_atomic(target, text)
    except OSError as exc:
        hint = "free some disk space" if exc.errno == errno.ENOSPC else "choose a writable place"
        raise WriteError(
            f"{target}: cannot write the {what}: {exc.strerror or exc}", hint=hint
        ) from None


def write_trace(target: Path, model: BuildModel, summary: Summary | None = None) -> None:
    """The finished build's Chrome trace (`mab.progress.trace`); `summary` adds the causes."""
    write_output(target, trace_json(timeline_of(model, summary)), "trace")
