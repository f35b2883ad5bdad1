"""The checks that move lines: the source copied before the dependency install (MAB102), and
declarations that bust the cache of the steps after them (MAB103 volatile args, MAB107 TARGET*
args in a cross-compiling stage)."""

from __future__ import annotations

import re
from collections.abc import Callable

from mab.detection.lockfiles import ecosystem_for, pattern_matches_lockfile
from mab.lint.context import Context
from mab.lint.edits import insert_after, lead, move_before
from mab.lint.reader import Dockerfile, Instruction, words
from mab.lint.rules import Edit, Finding
from mab.lint.stages import Stage, declared_names
from mab.lint.tools import installs
from mab.lint.uses import may_read, names, platform_aware

_VOLATILE = re.compile(
    r"(?i)(?:^|_)(?:BUILD_?DATE|BUILD_?TIME|BUILD_?TIMESTAMP|TIMESTAMP|DATE|COMMIT|"
    r"COMMIT_?SHA|GIT_?SHA|GIT_?COMMIT|GIT_?REV|SHA|REVISION|VCS_?REF|SOURCE_?COMMIT|"
    r"BUILD_?NUMBER|BUILD_?ID|PIPELINE_?ID|RUN_?ID|CACHE_?BUST)$"
)
# Commands that fetch dependencies (as opposed to building the project's own code).
_DEPENDENCY_STEP = re.compile(
    r"\b(?:npm\s+(?:ci|install|i)|yarn(?:\s+install)?|pnpm\s+(?:install|i|fetch)|pip3?\s+install|"
    r"uv\s+(?:sync|pip\s+install)|poetry\s+install|go\s+mod\s+download|cargo\s+(?:fetch|chef)|"
    r"mvn\S*\s+.*dependency:|bundle\s+install|composer\s+install)\b"
)
_WHOLE_TREE = {".", "./", "*", "./*"}
_PACKAGE_TOOLS = ("npm", "yarn", "pnpm", "pip", "uv", "poetry", "go", "cargo", "maven",
                  "gradle", "bundler", "composer")  # fmt: skip


def whole_tree_copy(ins: Instruction) -> str | None:
    """The destination of a `COPY . <dest>` from the build context, else None."""
    if ins.keyword not in ("COPY", "ADD") or ins.flag_values("from") or ins.args.startswith("["):
        return None
    parts = words(ins.args)
    if len(parts) < 2 or not any(p in _WHOLE_TREE for p in parts[:-1]):
        return None
    return parts[-1]


def _lockfile_ecosystems(ins: Instruction) -> set[str]:
    if ins.flag_values("from"):
        return set()
    found = set()
    for source in words(ins.args)[:-1]:
        name = source.rstrip("/").rpartition("/")[2]
        ecosystem = ecosystem_for(name)
        if ecosystem is None and pattern_matches_lockfile(name):
            ecosystem = "npm" if name.startswith("package") else "pip"
        if ecosystem is not None:
            found.add(ecosystem)
        if name in ("pyproject.toml", "go.mod", "package.json", "Gemfile", "composer.json"):
            found.add({"pyproject.toml": "uv", "go.mod": "go", "package.json": "npm",
                       "Gemfile": "bundler", "composer.json": "composer"}[name])  # fmt: skip
            if name == "pyproject.toml":
                found.update(("poetry", "pip"))
            if name == "package.json":
                found.update(("yarn", "pnpm"))
    return found


def _requirement_file(script: str) -> str | None:
    match = re.search(r"(?:-r|--requirement)[ =](\S+)", script)
    return match.group(1) if match else None


def _pure_install(ins: Instruction, tool: str) -> bool:
    """The RUN does nothing but the install (so it can move)."""
    if ins.heredocs or ins.args.startswith("[") or any(k != "mount" for k, _ in ins.flags):
        return False
    script = ins.args.strip()
    if re.search(r"&&|;|\|\||\||`|\$\(", script):
        return False
    return {
        "go": re.fullmatch(r"go\s+mod\s+download(\s+-x)?", script) is not None,
        "npm": re.fullmatch(r"npm\s+(ci|install|i)(\s+--?[\w-]+(=\S+)?)*", script) is not None,
        "yarn": re.fullmatch(r"yarn(\s+install)?(\s+--[\w-]+)*", script) is not None,
        "pnpm": re.fullmatch(r"pnpm\s+(install|i)(\s+--[\w-]+)*", script) is not None,
        "pip": _pip_reads_only_requirements(script),
    }.get(tool, False)


# pip options that read files or folders besides the requirements file.
_PIP_LOCAL = re.compile(r"^(?:-e|--editable|-f|--find-links|-c|--constraint|--no-index|--src)\b")


def _pip_reads_only_requirements(script: str) -> bool:
    """`pip install -r FILE [options]`: no other requirements file, no local path, no
    find-links or constraints."""
    match = re.fullmatch(r"(?:pip3?|python3?\s+-m\s+pip)\s+install\s+(.*)", script)
    if match is None:
        return False
    parts = words(match.group(1))
    requirements = 0
    for n, part in enumerate(parts):
        if part in ("-r", "--requirement") or part.startswith("--requirement="):
            requirements += 1
        elif n and parts[n - 1] in ("-r", "--requirement"):
            continue
        elif _PIP_LOCAL.match(part) or not part.startswith("-"):
            return False  # a package named on the command line, or a local path
    return requirements == 1


def source_first(
    dockerfile: Dockerfile, path: str, stage: Stage, context: Context
) -> list[Finding]:
    found: list[Finding] = []
    copied_at: int | None = None
    dest = ""
    locked: set[str] = set()  # ecosystems whose lockfile was copied before the whole tree
    for position, index in enumerate(stage.items):
        ins = dockerfile.instructions[index]
        whole = whole_tree_copy(ins)
        if whole is not None and copied_at is None:
            copied_at, dest = position, whole
            continue
        if copied_at is None and ins.keyword in ("COPY", "ADD"):
            locked.update(_lockfile_ecosystems(ins))
        if copied_at is None or ins.keyword != "RUN" or not _DEPENDENCY_STEP.search(ins.script):
            continue
        tools = [t for t, _ in installs(ins.script) if t in _PACKAGE_TOOLS]
        if not tools or any(t in locked for t in tools):
            continue
        copy = dockerfile.instructions[stage.items[copied_at]]
        between = [dockerfile.instructions[i] for i in stage.items[copied_at + 1 : position]]
        message = (
            f"line {copy.line} copies the whole source before this {tools[0]} install: every "
            f"source change re-runs it; copy the manifest and lockfile first"
        )
        edits: tuple[Edit, ...] = ()
        files = context.manifest_only(tools[0], _requirement_file(ins.script))
        if (
            len(tools) == 1
            and files
            and _pure_install(ins, tools[0])
            and all(b.keyword in ("LABEL", "EXPOSE", "COPY", "ADD") for b in between)
        ):
            edits = _copy_manifests_first(dockerfile, copy, ins, files, dest)
        found.append(Finding("MAB102", path, ins.line, message, edits))
        break
    return found


def _copy_manifests_first(
    dockerfile: Dockerfile, copy: Instruction, run: Instruction, files: tuple[str, ...], dest: str
) -> tuple[Edit, ...]:
    keyword = dockerfile.lines[copy.first].lstrip()[: len(copy.keyword)]
    keyword = "COPY" if keyword.isupper() else "copy"
    kept_flags = " ".join(f"--{k}={v}" for k, v in copy.flags if k in ("chown", "chmod", "link"))
    target = dest if dest.endswith("/") or dest == "." else dest + "/"
    target = "./" if target == "." else target
    indent = dockerfile.lines[copy.first][
        : len(dockerfile.lines[copy.first]) - len(dockerfile.lines[copy.first].lstrip())
    ]
    line = " ".join(p for p in (keyword, kept_flags, *files, target) if p)
    at = lead(dockerfile, copy)
    delete, insert = move_before(dockerfile, run, at)
    new_copy = Edit(at, at, (indent + line + dockerfile.newline,))
    return (new_copy, insert, delete)


def _first(
    dockerfile: Dockerfile,
    stage: Stage,
    after: int,
    test: Callable[[Instruction, set[str]], bool],
    wanted: set[str],
) -> int:
    """The position of the first instruction after `after` for which `test(ins, wanted)`
    holds (the stage's length when none does)."""
    for position in range(after + 1, len(stage.items)):
        if test(dockerfile.instructions[stage.items[position]], wanted):
            return position
    return len(stage.items)


def _skipped_runs(
    dockerfile: Dockerfile, stage: Stage, start: int, stop: int, rule: str
) -> list[Instruction]:
    runs = [dockerfile.instructions[i] for i in stage.items[start + 1 : stop]]
    runs = [r for r in runs if r.keyword == "RUN" and not platform_aware(r)]
    if rule == "MAB107":
        runs = [
            r for r in runs if any(t != "go" or "go mod" in r.script for t, _ in installs(r.script))
        ]
    return runs


def early_declarations(dockerfile: Dockerfile, path: str, stage: Stage) -> list[Finding]:
    found = []
    for position, index in enumerate(stage.items):
        ins = dockerfile.instructions[index]
        if ins.keyword not in ("ARG", "ENV"):
            continue
        declared = {n for n, _ in declared_names(ins)}
        if not declared:
            continue
        volatile = {n for n in declared if _VOLATILE.search(n)}
        platform = (
            {n for n in declared if n.startswith("TARGET")} if ins.keyword == "ARG" else set()
        )
        if volatile == declared:
            rule, flagged = "MAB103", volatile
        elif stage.cross_compiles and platform == declared:
            rule, flagged = "MAB107", platform
        else:
            continue
        named = _first(dockerfile, stage, position, names, flagged)
        skipped = _skipped_runs(dockerfile, stage, position, named, rule)
        if not skipped:
            continue
        # The ARG can move only down to the first step that may read it from the environment.
        use = _first(dockerfile, stage, position, may_read, flagged)
        movable = _skipped_runs(dockerfile, stage, position, use, rule)
        what = ", ".join(sorted(flagged))
        if rule == "MAB103":
            message = (
                f"{ins.keyword} {what} changes every build and is declared before "
                f"{len(skipped)} RUN step(s) that do not name it (line {skipped[0].line})"
            )
        else:
            message = (
                f"ARG {what} before the install at line {skipped[0].line} in a stage that runs "
                f"on the build platform: it runs once per target platform"
            )
        edits: tuple[Edit, ...] = ()
        if ins.keyword == "ENV":
            # An ENV reaches every later process: a build script may read it unnamed.
            message += "; move it down if no step reads it (not automatic)"
        elif not movable:
            reader = dockerfile.instructions[stage.items[use]]
            message += (
                f"; not moved: line {reader.line} runs commands that may read it from the "
                f"environment (move it below them by hand if none does)"
            )
        elif use == len(stage.items):
            last = dockerfile.instructions[stage.items[-1]]
            delete, _ = move_before(dockerfile, ins, 0)
            moved = tuple(dockerfile.lines[delete.start : delete.stop])
            edits = (delete, insert_after(dockerfile, last, moved))
        else:
            target = dockerfile.instructions[stage.items[use]]
            edits = move_before(dockerfile, ins, lead(dockerfile, target))
            if use < named:
                message += (
                    f" (the fix moves it above line {target.line}, which may read it from the "
                    "environment)"
                )
        found.append(Finding(rule, path, ins.line, message, edits))
    return found
