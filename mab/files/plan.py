"""Files a command wants to write, and the three ways to act on them: write, diff, check.

All contents are computed before anything is written; then every target is checked, and the
set is written all or nothing (`writeset`), so an error leaves every file as it was. A target
that is a symbolic link is written through to the file it points to.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import click

from mab.errors import EXIT_CHECK_FAILED


@dataclass(frozen=True)
class PlannedFile:
    path: str  # relative to the repository root
    old: str | None  # None when the file does not exist yet
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                (self.old or "").splitlines(keepends=True),
                self.new.splitlines(keepends=True),
                fromfile=f"a/{self.path}" if self.old is not None else "/dev/null",
                tofile=f"b/{self.path}",
            )
        )


def apply(root: Path, files: list[PlannedFile], *, dry_run: bool, check: bool) -> int:
    changed = [f for f in files if f.changed]
    if check:
        for f in changed:
            state = "would be created" if f.old is None else "is out of date"
            click.echo(f"{f.path}: {state}", err=True)
        if changed:
            click.echo("run `mab init-ci` to update (or --dry-run to see the diff)", err=True)
            return EXIT_CHECK_FAILED
        click.echo("all files up to date", err=True)
        return 0
    if dry_run:
        for f in changed:
            click.echo(f.diff(), nl=False)
        if not changed:
            click.echo("nothing to change", err=True)
        return 0
    from mab.files.writeset import check_writable, resolve_target, write_all  # writes only

    check_writable(root, [f.path for f in changed])
    write_all(root, {f.path: f.new for f in changed})
    for f in changed:
        target = resolve_target(root, f.path)
        through = "" if target == root / f.path else f" (through the link to {target})"
        click.echo(f"{'created' if f.old is None else 'updated'} {f.path}{through}", err=True)
    for f in files:
        if not f.changed:
            click.echo(f"unchanged {f.path}", err=True)
    return 0
