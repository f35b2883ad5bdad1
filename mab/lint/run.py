"""Which Dockerfiles `mab lint` reads (and with which build context), the rule selection, and
the lint/fix of one file. Reads files; writes nothing (the command writes the plan)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mab.errors import UserError
from mab.lint.checks import lint
from mab.lint.context import Context
from mab.lint.fix import Linter, fix_text
from mab.lint.reader import Dockerfile, read_dockerfile
from mab.lint.rules import RULES, Finding, rule_id


@dataclass(frozen=True)
class Target:
    path: Path  # the Dockerfile
    shown: str  # how reports name it
    context: Path | None


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
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None


def targets(paths: tuple[str, ...]) -> list[Target]:
    """The Dockerfiles named by `paths` (files, or directories searched like `init-ci` does)."""
    found: dict[Path, Target] = {}
    for given in paths or (".",):
        path = Path(given)
        if path.is_file():
            resolved = path.resolve()
            found.setdefault(resolved, Target(path, os.path.normpath(given), path.parent))
        elif path.is_dir():
            for target in _in_directory(path):
                found.setdefault(target.path.resolve(), target)
        else:
            raise UserError(
                f"{given}: no such file or directory", hint="give a Dockerfile or a directory"
            )
    return list(found.values())


def _in_directory(root: Path) -> list[Target]:
    from mab.detection.detect import detect  # only for a directory: one file needs none of it

    project = detect(root)
    return [
        Target(root / i.dockerfile, os.path.normpath(root / i.dockerfile), root / i.context)
        for i in project.images
    ]


def lint_text(text: str, target: Target, selection: Selection) -> list[Finding]:
    return _linter(target, selection)(read_dockerfile(text))


def _linter(target: Target, selection: Selection) -> Linter:
    context = Context(target.context, target.path.name)

    def run(dockerfile: Dockerfile) -> list[Finding]:
        return [f for f in lint(dockerfile, target.shown, context) if selection.wants(f.rule)]

    return run


def fix(text: str, target: Target, selection: Selection) -> tuple[str, list[Finding]]:
    return fix_text(text, _linter(target, selection))
