"""`mab build --metrics-file PATH`: the build's metrics in node_exporter's textfile format.

Checked before the build starts (a folder that is missing or not writable is the user's to fix,
exit 2, and no build time is wasted), then written atomically: a temporary file beside the
target, renamed over it, so the textfile collector never reads half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import CollectorRegistry, write_to_textfile

from mab.errors import EnvironmentNotReady, UserError


def check_target(path: Path) -> None:
    """Raise `UserError` when `path` cannot take the metrics file."""
    folder = path.parent if str(path.parent) else Path()
    hint = "give --metrics-file a file in an existing, writable folder"
    if path.is_dir():
        raise UserError(f"--metrics-file {path}: is a folder, not a file", hint=hint)
    if not folder.is_dir():
        raise UserError(f"--metrics-file {path}: the folder {folder} does not exist", hint=hint)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"--metrics-file {path}: the folder {folder} is not writable", hint=hint)


def write(path: Path, registry: CollectorRegistry) -> None:
    """Write atomically; an OS error (full disk, a folder that vanished) names the file."""
    try:
        write_to_textfile(str(path), registry)
    except OSError as exc:
        raise EnvironmentNotReady(
            f"could not write the metrics file {path}: {exc.strerror or exc}",
            hint="free disk space or choose another --metrics-file",
        ) from None
