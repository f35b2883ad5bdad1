"""The checks behind each rule: read a Dockerfile (and its build context) and report findings,
each with the edits that fix it when a fix cannot change what the image contains. Pure apart
from reading context files through `Context`."""

from __future__ import annotations

import re
from dataclasses import replace

from mab.lint.context import Context
from mab.lint.edits import (
    add_run_flags,
    lead,
    prefix_command,
    replace_in_lines,
)
from mab.lint.moves import early_declarations, source_first, whole_tree_copy
from mab.lint.reader import Dockerfile, Instruction, mount_fields, words
from mab.lint.rules import Edit, Finding
from mab.lint.stages import Stage, stages
from mab.lint.tools import (
    NO_CACHE_FLAGS,
    NO_CACHE_VARIABLES,
    READ_AT_BUILD,
    StageState,
    cache_targets,
    covers,
    installs,
)
from mab.lint.touches import copied_out, works_on
from mab.lint.uses import quiet_command

_KNOWN_UIDS = {"node": (1000, 1000), "nobody": (65534, 65534)}
_WINDOWS = re.compile(r"(?i)nanoserver|servercore|windows|ltsc20\d\d")
# A container command that builds or runs from the tool's downloads (the mount is gone then).
_RUNS_FROM_CACHE = {
    "go": re.compile(r"\bgo[\s\",]+(?:run|test|build|generate)\b"),
    "cargo": re.compile(r"\bcargo\b"),
    "maven": re.compile(r"\bmvnw?\b"),
    "gradle": re.compile(r"\bgradlew?\b"),
    "sbt": re.compile(r"\bsbt\b"),
    "dotnet": re.compile(r"\bdotnet[\s\",]+(?:run|watch|test|build)\b"),
}
_GO_COMPILES = re.compile(r"\bgo\s+(?:build|install|test|generate|run|vet)\b")


def lint(dockerfile: Dockerfile, path: str, context: Context) -> list[Finding]:
    found: list[Finding] = []
    all_stages = stages(dockerfile)
    for stage in all_stages:
        later = _descendants(dockerfile, stage, all_stages)
        found.extend(_cache_mounts(dockerfile, path, stage, context, later))
        found.extend(source_first(dockerfile, path, stage, context))
        found.extend(early_declarations(dockerfile, path, stage))
        found.extend(_apt_update_alone(dockerfile, path, stage))
    found.extend(_add_urls(dockerfile, path))
    found.extend(_context_git(dockerfile, path, all_stages, context))
    kept = [
        f
        for f in found
        if f.rule not in dockerfile.file_ignores
        and f.rule not in _instruction_at(dockerfile, f.line).ignored
    ]
    return sorted(kept, key=lambda f: (f.line, f.rule))


def _descendants(
    dockerfile: Dockerfile, stage: Stage, all_stages: list[Stage]
) -> list[Instruction]:
    """The instructions of the stages built FROM `stage` (and theirs)."""
    out: list[Instruction] = []
    names = {stage.name} if stage.name else set()
    for other in all_stages[stage.index + 1 :]:
        if other.parent in names:
            out += [dockerfile.instructions[i] for i in other.items]
            if other.name:
                names.add(other.name)
    return out


def _instruction_at(dockerfile: Dockerfile, line: int) -> Instruction:
    for ins in dockerfile.instructions:
        if ins.first + 1 == line:
            return ins
    return dockerfile.instructions[0]


def _mounts(ins: Instruction) -> list[dict[str, str]]:
    return [mount_fields(v) for v in ins.flag_values("mount")]


def _cache_targets_of(ins: Instruction) -> list[str]:
    out = []
    for fields in _mounts(ins):
        if fields.get("type") == "cache":
            target = fields.get("target") or fields.get("dst") or fields.get("destination")
            if target:
                out.append(target)
    return out


def _uid_gid(dockerfile: Dockerfile, state: StageState) -> tuple[int, int] | None:
    user, _, group = state.user.partition(":")
    if user.isdigit():
        return int(user), int(group) if group.isdigit() else int(user)
    for ins in dockerfile.instructions:
        if ins.keyword == "RUN":
            match = re.search(
                r"(?:useradd|adduser)\b[^&;|\n]*?(?:-u|--uid)[= ](\d+)[^&;|\n]*\b"
                + re.escape(user)
                + r"\b",
                ins.script,
            )
            if match:
                uid = int(match.group(1))
                return uid, int(group) if group.isdigit() else uid
    return _KNOWN_UIDS.get(user)


def _cache_mounts(
    dockerfile: Dockerfile, path: str, stage: Stage, context: Context, later: list[Instruction]
) -> list[Finding]:
    found = []
    for position, (index, state) in enumerate(zip(stage.items, stage.states, strict=True)):
        ins = dockerfile.instructions[index]
        if ins.keyword != "RUN":
            continue
        mounted = _cache_targets_of(ins)
        for tool, _ in installs(ins.script):
            targets = cache_targets(tool, state)
            if tool == "go" and targets and not _GO_COMPILES.search(ins.script):
                targets = targets[:1]  # `go mod download` fills the module cache only
            berry = _berry_settings(dockerfile, stage, position, context)
            if tool == "yarn" and berry is not None:
                targets = _berry_cache(state, berry)
            missing = [t for t in targets or () if not any(covers(tool, t, m) for m in mounted)]
            if targets is not None and not missing:
                continue
            after = [dockerfile.instructions[i] for i in stage.items[position + 1 :]] + later
            why = _declined(tool, ins, state, after, berry if targets is None else None, targets)
            if why is None and _WINDOWS.search(state.base):
                why = f"{tool} installs without a cache mount in a Windows image (not automatic)"
            touched = works_on(ins.script, tuple(missing), state.env) if why is None else None
            if touched is None and why is None:
                touched = copied_out(dockerfile, stage, tuple(missing))
            if touched is not None:
                why = f"{tool} installs without a cache mount, but {touched} (not automatic)"
            if why:
                found.append(Finding("MAB101", path, ins.line, why))
            if why is not None:
                continue
            found.append(_mount_finding(dockerfile, path, ins, state, tool, missing, targets))
    return found


def _berry_settings(
    dockerfile: Dockerfile, stage: Stage, position: int, context: Context
) -> str | None:
    """The text of the `.yarnrc.yml` a RUN at `position` sees ("" when Berry is in use but
    its settings cannot be read), or None for Yarn classic."""
    for index in stage.items[:position]:
        ins = dockerfile.instructions[index]
        if ins.keyword in ("COPY", "ADD") and not ins.flag_values("from"):
            for source in words(ins.args)[:-1]:
                if source.endswith(".yarnrc.yml"):
                    return context.read(source.lstrip("/").removeprefix("./")) or ""
                if source.rstrip("/") in (".", "./*", "*") and context.exists(".yarnrc.yml"):
                    return context.read(".yarnrc.yml") or ""
        if ins.keyword == "RUN" and re.search(r"yarn\s+set\s+version\s+(?!classic)", ins.script):
            return ""
    if context.exists(".yarnrc.yml"):
        return context.read(".yarnrc.yml") or ""
    if re.search(r'"packageManager"\s*:\s*"yarn@[2-9]', context.read("package.json") or ""):
        return ""
    return None


def _berry_cache(state: StageState, settings: str) -> tuple[str, ...] | None:
    """Yarn Berry's cache folder when it is a global one (outside the project)."""
    own = state.env.get("YARN_CACHE_FOLDER")
    if own:
        return (own,)
    if re.search(r"(?m)^enableGlobalCache:\s*true\b", settings) and "cacheFolder" not in settings:
        folder = state.env.get("YARN_GLOBAL_FOLDER") or (
            f"{state.home.rstrip('/')}/.yarn/berry" if state.home else None
        )
        return (f"{folder}/cache",) if folder else None
    return None


def _venv_outside_cache(state: StageState, ins: Instruction) -> bool:
    """Poetry installs into a virtualenv that is not under its cache folder."""
    env = state.env
    if env.get("POETRY_VIRTUALENVS_IN_PROJECT", "").lower() in ("1", "true"):
        return True
    if env.get("POETRY_VIRTUALENVS_CREATE", "").lower() in ("0", "false"):
        return True
    return "VIRTUAL_ENV" in env or re.search(r"\bactivate\b", ins.script) is not None


def _declined(
    tool: str,
    ins: Instruction,
    state: StageState,
    after: list[Instruction],
    berry: str | None,
    targets: tuple[str, ...] | None,
) -> str | None:
    """Why no mount is added for `tool` on `ins` (reported, not fixed; "" for no finding at
    all), or None."""
    for variable in NO_CACHE_VARIABLES.get(tool, ()):
        if variable in state.env:
            return (
                f"{tool} installs without a cache, as {variable} asks: a cache mount would stay "
                f"empty (unset {variable} for this RUN and add a mount to use one)"
            )
    if not state.user_known and any(t.startswith("/root/") for t in targets or ()):
        return (
            f"{tool} installs without a cache mount, and this RUN runs as the user of the base "
            f"image {state.base}, whose home mab cannot tell: add `USER root` (or the user) "
            f"above it, or set the tool's cache variable, so mab can name the target"
        )
    if tool == "poetry" and not _venv_outside_cache(state, ins):
        return (
            "poetry installs without a cache mount, and its virtualenv goes into its cache "
            "folder: set POETRY_VIRTUALENVS_IN_PROJECT=true (or mount only the cache's cache/ "
            "and artifacts/) first (not automatic)"
        )
    if tool == "apk" and "--no-cache" in ins.script:
        return ""  # nothing downloaded stays anywhere: no finding
    if tool == "apk":
        return (
            "apk installs without a cache mount: mount /var/cache/apk and link /etc/apk/cache "
            "to it (not automatic: it changes /etc/apk)"
        )
    if tool == "yarn" and berry is not None:
        return (
            "yarn (Berry: .yarnrc.yml) installs without a cache mount, and its cache is the "
            "project's own .yarn/cache: set enableGlobalCache or YARN_CACHE_FOLDER, then mount "
            "that folder (not automatic)"
        )
    if tool in READ_AT_BUILD:
        reader = next(
            (
                i
                for i in after
                if (
                    i.keyword == "RUN"
                    and all(t != tool for t, _ in installs(i.script))
                    and not all(quiet_command(c) for c in re.split(r"&&|\|\||[;|\n]", i.args))
                )
                or (i.keyword in ("CMD", "ENTRYPOINT") and _RUNS_FROM_CACHE[tool].search(i.args))
            ),
            None,
        )
        if reader is not None:
            return (
                f"{tool} installs without a cache mount, and line {reader.line} may build or "
                f"run from what it downloads without that mount: add the same mount to both "
                f"by hand where it is a build step (not automatic)"
            )
    return None


def _mount_finding(
    dockerfile: Dockerfile,
    path: str,
    ins: Instruction,
    state: StageState,
    tool: str,
    missing: list[str],
    targets: tuple[str, ...] | None,
) -> Finding:
    if targets is None:
        message = (
            f"{tool} installs without a cache mount, and the home of USER {state.user} is not "
            f"known: set ENV HOME (or the tool's cache variable) so mab can name the target"
        )
        return Finding("MAB101", path, ins.line, message)
    ownership = ""
    if not state.is_root:
        ids = _uid_gid(dockerfile, state)
        if ids is None:
            message = (
                f"{tool} installs as USER {state.user} without a cache mount for "
                f"{', '.join(missing)}: add one with uid=/gid= of that user"
            )
            return Finding("MAB101", path, ins.line, message)
        ownership = f",uid={ids[0]},gid={ids[1]}"
    sharing = ",sharing=locked" if tool == "apt" else ""
    flags = " ".join(f"--mount=type=cache,target={t}{sharing}{ownership}" for t in missing)
    message = f"{tool} installs without a cache mount for {', '.join(missing)}"
    work = dockerfile
    extra = ""
    if tool == "apt":
        message += (
            " (with sharing=locked; to keep the downloaded packages, also drop the image's "
            "/etc/apt/apt.conf.d/docker-clean hook — not automatic, it changes the image)"
        )
        if not re.search(r"apt(?:-get)?\s+(?:-\S+\s+)*update\b", ins.script):
            message += "; join the `apt-get update` to this RUN first"
            return Finding("MAB101", path, ins.line, message)
    if tool == "cargo":
        message += " (a cache mount on target/ also keeps compiled dependencies: add it by hand "
        message += "when the RUN copies its binaries out of target/, or the image loses them)"
    flag = NO_CACHE_FLAGS.get(tool)
    if flag and flag in ins.script:
        if ins.heredocs:
            return Finding("MAB101", path, ins.line, message + f"; drop {flag}")
        pattern = re.compile(r"[ \t]+" + flag + r"\b")
        work = _applied(work, replace_in_lines(work, ins, pattern, ""))
        extra = f"; {flag} is dropped"
    if tool == "uv" and "UV_LINK_MODE" not in state.env and "UV_LINK_MODE" not in ins.script:
        work = _applied(work, _uv_link_mode(work, ins))
        extra += "; UV_LINK_MODE=copy set for uv"
    first = add_run_flags(work, ins, flags)
    if first is None:
        return Finding("MAB101", path, ins.line, message)
    work = _applied(work, (first,))
    edits = tuple(
        Edit(i, i + 1, (work.lines[i],))
        for i in range(ins.first, ins.last + 1)
        if work.lines[i] != dockerfile.lines[i]
    )
    return Finding("MAB101", path, ins.line, message + extra, edits)


def _applied(dockerfile: Dockerfile, edits: tuple[Edit, ...]) -> Dockerfile:
    """`dockerfile` with single-line replacements applied (positions stay valid)."""
    lines = list(dockerfile.lines)
    for edit in edits:
        lines[edit.start : edit.stop] = edit.new
    return replace(dockerfile, lines=tuple(lines))


def _uv_link_mode(dockerfile: Dockerfile, ins: Instruction) -> tuple[Edit, ...]:
    pattern = re.compile(r"(?<![\w./-])(uv\s+(?:sync|pip\s+install)\b)")
    for index in range(ins.first, ins.last + 1):
        line = dockerfile.lines[index]
        new = pattern.sub(r"UV_LINK_MODE=copy \1", line, count=1)
        if new != line:
            return (Edit(index, index + 1, (new,)),)
    return ()


def _apt_update_alone(dockerfile: Dockerfile, path: str, stage: Stage) -> list[Finding]:
    found = []
    runs = [dockerfile.instructions[i] for i in stage.items]
    runs = [r for r in runs if r.keyword == "RUN"]
    for n, ins in enumerate(runs):
        script = ins.script
        if not re.search(r"apt(?:-get)?\s+(?:-\S+\s+)*update\b", script):
            continue
        if any(t == "apt" for t, _ in installs(script)):
            continue
        message = "apt-get update runs in its own RUN: later installs reuse stale lists"
        later = runs[n + 1] if n + 1 < len(runs) else None
        edits: tuple[Edit, ...] = ()
        alone = re.fullmatch(r"apt-get\s+(?:-\S+\s+)*update(?:\s+-\S+)*", ins.args.strip())
        if (
            later is not None
            and alone
            and not ins.flags
            and not ins.heredocs
            and any(t == "apt" for t, _ in installs(later.script))
        ):
            prefix = prefix_command(dockerfile, later, ins.args.strip() + " && ")
            if prefix is not None:
                edits = (Edit(lead(dockerfile, ins), ins.last + 1), prefix)
        found.append(Finding("MAB105", path, ins.line, message, edits))
    return found


def _add_urls(dockerfile: Dockerfile, path: str) -> list[Finding]:
    found = []
    for ins in dockerfile.instructions:
        if ins.keyword != "ADD" or ins.flag_values("checksum"):
            continue
        urls = [
            w
            for w in words(ins.args)[:-1]
            if re.match(r"https?://", w) and not w.split("#")[0].endswith(".git")
        ]
        if urls:
            message = f"ADD {urls[0]} has no --checksum: add --checksum=sha256:<digest>"
            found.append(Finding("MAB104", path, ins.line, message))
    return found


def _context_git(
    dockerfile: Dockerfile, path: str, all_stages: list[Stage], context: Context
) -> list[Finding]:
    for stage in all_stages:
        for index in stage.items:
            ins = dockerfile.instructions[index]
            if whole_tree_copy(ins) is None:
                continue
            if not context.lets_git_in():
                return []
            if context.dockerignore() is None:
                message = "COPY of the whole context with no .dockerignore: .git and build "
                message += "outputs are copied, so every commit busts this layer"
            else:
                message = "the .dockerignore lets .git in: every commit busts this layer"
            return [Finding("MAB106", path, ins.line, message + "; add .git to .dockerignore")]
    return []
