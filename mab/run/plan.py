"""Which shared refs a build outside CI may write: decided once, from the flags, `.mab.yml` and
the git state, before anything runs. Pure.

A local build reads the shared caches (and their build records) that the user, `.mab.yml` or
the generated pipeline names; it writes a cache or pushes a build record only when asked
(`--cache-to`, `--push-record`). A registry ref is CI's: written from the default branch of a
clean tree, or with `--force`. `mab build --ci` keeps the generated pipelines' own rules
(`--cache-prefix`, `--cache-read-only`).
"""

from __future__ import annotations

from dataclasses import dataclass

from mab.errors import UserError
from mab.history.remote import registry_refs

__all__ = ["GitState", "WritesAsked", "check_writes"]


@dataclass(frozen=True)
class GitState:
    """The checked-out branch (None: detached, or no repository) and whether tracked files
    differ from HEAD (None: cannot tell)."""

    branch: str | None = None
    dirty: bool | None = None


@dataclass(frozen=True)
class WritesAsked:
    cache_to: str | None = None  # `--cache-to SPEC`, as given
    push_record: bool = False  # `--push-record`
    force: bool = False  # `--force`: write from another branch or a dirty tree anyway


def check_writes(asked: WritesAsked, git: GitState, default_branch: str) -> None:
    """Refuse (exit 2) a write to a shared registry ref from a branch other than the default
    one or from a dirty tree, unless `--force`."""
    shared = bool(registry_refs((asked.cache_to,) if asked.cache_to else ())) or asked.push_record
    if not shared or asked.force:
        return
    what = "--cache-to" if asked.cache_to is not None else "--push-record"
    if git.branch is not None and git.branch != default_branch:
        raise UserError(
            f"{what} writes a shared registry ref, and this is branch {git.branch}, "
            f"not {default_branch} (the default branch, whose builds write it)",
            hint="build without it to read the shared caches only, or add --force to write anyway",
        )
    if git.dirty:
        raise UserError(
            f"{what} writes a shared registry ref, and the working tree has uncommitted changes",
            hint="commit or stash them first, or add --force to write anyway",
        )
