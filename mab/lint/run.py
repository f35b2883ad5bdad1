"""Which Dockerfiles `mab lint` reads (and with which build context), the rule selection, and
the lint/fix of one file. Reads files; writes nothing (the command writes the plan)."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mab.errors import UserError
from mab.files.reader import read_text
from mab.lint.checks import lint
from mab.lint.context import Context
from mab.lint.fix import Linter, fix_text
from mab.lint.reader import Dockerfile, read_dockerfile
from mab.lint.rules import RULES, Finding, rule_id
from mab.lint.source import not_the_source, repository_root

if TYPE_CHECKING:
    from mab.detection.project import ImageRequest


@dataclass(frozen=True)
class Target:
    path: Path  # the Dockerfile
    shown: str  # how reports name it
    context: Path | None
    repository: Path | None = None  # the repository it belongs to (None: its own folder)

    def not_the_source(self, text: str) -> str | None:
        """Why this file must be reported but never edited (see mab/lint/source.py)."""
        repository = self.repository or repository_root(self.path.parent)
        return not_the_source(self.path, self.shown, repository, text)


@dataclass(frozen=True)
class Selection:
    select: frozenset[str] = field(default_factory=lambda: frozenset(r.id for r in RULES))
    ignore: frozenset[str] = frozenset()

    def wants(self, rule: str) -> bool:
        return rule in self.select and rule not in self.ignore


def parse_rules(value: Any, where: str) -> frozenset[str]:
    """Rule ids from `MAB101,cache-mount-missing` or a YAML list; a bad name is a UserError."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise UserError(f"{where}: expected a list of rule ids")
    out = set()
    for item in items:
        if not str(item).strip():
            continue
        found = rule_id(str(item))
        if found is None:
            known = ", ".join(f"{r.id} ({r.name})" for r in RULES)
            raise UserError(f"{where}: unknown rule {item!r}", hint=f"known rules: {known}")
        out.add(found)
    return frozenset(out)


def read_dockerfile_text(path: Path) -> str:
    """The file's text with its line endings kept (CRLF stays CRLF)."""
    try:
        return read_text(path)
    except OSError as exc:  # missing
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None


def targets(paths: tuple[str, ...], requests: tuple[ImageRequest, ...] = ()) -> list[Target]:
    """The Dockerfiles named by `paths`: files, or directories searched like `init-ci` does
    (with `.mab.yml`'s `images:` as `requests`), plus every other Dockerfile they ship."""
    found: dict[Path, Target] = {}
    for given in paths or (".",):
        path = Path(given)
        if path.is_file():
            resolved = path.resolve()
            repository = repository_root(path.parent)
            target = Target(path, os.path.normpath(given), path.parent, repository)
            found.setdefault(resolved, target)
        elif path.is_dir():
            for target in _in_directory(path, requests):
                found.setdefault(target.path.resolve(), target)
        else:
            raise UserError(
                f"{given}: no such file or directory", hint="give a Dockerfile or a directory"
            )
    return list(found.values())


def _in_directory(root: Path, requests: tuple[ImageRequest, ...]) -> list[Target]:
    """The images init-ci builds, then the Dockerfiles it leaves out that still ship (not
    those in test, example or fixture folders), read without a build context: which one
    they are built with is not known, so no context-dependent finding or fix is made."""
    # Only for a directory: one file needs none of detection.
    from mab.detection.detect import detect
    from mab.detection.select import is_dockerfile_name, not_shipped_dir

    project = detect(root, requests)
    repository = repository_root(root)
    found = [
        Target(root / i.dockerfile, os.path.normpath(root / i.dockerfile), root / i.context)
        for i in project.images
    ]
    found += [
        Target(root / s.path, os.path.normpath(root / s.path), None)
        for s in project.skipped
        if is_dockerfile_name(posixpath.basename(s.path)) and not_shipped_dir(s.path) is None
    ]
    return [replace(t, repository=repository) for t in found]


def lint_text(text: str, target: Target, selection: Selection) -> list[Finding]:
    found = _linter(target, selection)(read_dockerfile(text))
    why = target.not_the_source(text)
    if why is None:
        return found
    return [replace(f, message=f"{f.message}; not fixed: {why}", edits=()) for f in found]


def _linter(target: Target, selection: Selection) -> Linter:
    context = Context(target.context, target.path.name)

    def run(dockerfile: Dockerfile) -> list[Finding]:
        return [f for f in lint(dockerfile, target.shown, context) if selection.wants(f.rule)]

    return run


def fix(text: str, target: Target, selection: Selection) -> tuple[str, list[Finding]]:
    if target.not_the_source(text) is not None:
        return text, []
    return fix_text(text, _linter(target, selection))
