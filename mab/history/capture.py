"""From a finished build (the progress model and what was asked) to a `BuildRecord`.

`BuildInputs.before(req, ...)` is taken before buildx starts (it hashes the COPY/ADD sources
then); `record_of(inputs, model, ...)` after the build ends. A replayed stream has no
request: `record_of_replay` keeps what the stream shows (states, durations, FROM digests) and
no fingerprints.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mab.detection.gitrepo import read_git_file
from mab.engine.buildcmd import BuildRequest
from mab.history.align import fill_from_others, place
from mab.history.fingerprint import Fingerprinter
from mab.history.plan import parts_digest, stage_graph
from mab.history.record import BuildRecord, CacheImport, StepRecord, StepState, keep_arg_value
from mab.progress.model import BuildModel, Kind
from mab.progress.model import StepState as ModelState

_STATES: dict[ModelState, StepState] = {
    ModelState.CACHED: "cached",
    ModelState.DONE: "ran",
    ModelState.ERROR: "failed",
    ModelState.CANCELED: "canceled",
    ModelState.PENDING: "pending",
    ModelState.RUNNING: "pending",
}
IMPORT_PREFIX = "importing cache manifest from "
_REMOTE = ("http://", "https://", "git@", "git://", "ssh://", "docker-image://")


@dataclass(frozen=True)
class BuildInputs:
    req: BuildRequest
    image: str
    started_at: float
    fingerprinter: Fingerprinter | None
    git_commit: str = ""
    git_branch: str = ""
    builder: str = ""
    driver: str = ""
    dockerfile_key: str = ""

    @classmethod
    def before(
        cls,
        req: BuildRequest,
        image: str | None,
        builder: str = "",
        driver: str = "",
        environ: Mapping[str, str] | None = None,
    ) -> BuildInputs:
        environ = os.environ if environ is None else environ
        local = req.context != "-" and not req.context.startswith(_REMOTE) and req.file != "-"
        context = Path(req.context).resolve() if local else None
        fingerprinter = None
        key = parts_digest("remote", req.context, req.file or "Dockerfile")
        if context is not None:
            dockerfile = Path(req.file).resolve() if req.file else context / "Dockerfile"
            fingerprinter = Fingerprinter(context, dockerfile, dict(req.build_args))
            key = dockerfile_key(context, dockerfile, fingerprinter.text)
        commit, branch = git_state(context or Path.cwd(), environ)
        return cls(
            req=req,
            image=image or image_key(req),
            started_at=time.time(),
            fingerprinter=fingerprinter,
            git_commit=commit,
            git_branch=branch,
            builder=builder,
            driver=driver,
            dockerfile_key=key,
        )


def dockerfile_key(context: Path, dockerfile: Path, text: str) -> str:
    """Which Dockerfile a build is of: its path within the context (or its name, outside it)
    and its stage graph. The same for every clone and every edit of its instructions."""
    try:
        where = dockerfile.relative_to(context).as_posix()
    except ValueError:
        where = dockerfile.name
    return parts_digest(where, *stage_graph(text))


def image_key(req: BuildRequest) -> str:
    """What builds of the same image share: the cache image, else the first tag's name, else
    the context and Dockerfile."""
    if req.tags:
        name = req.tags[0].split("@", 1)[0]
        last = name.rsplit("/", 1)[-1]
        return name[: len(name) - len(last)] + last.split(":", 1)[0]
    if req.context == "-" or req.context.startswith(_REMOTE):
        return f"local:{req.context}"
    context = Path(req.context).resolve()
    file = Path(req.file).resolve() if req.file else context / "Dockerfile"
    return f"local:{context}:{file.name}"


def no_cache_filter(extra_args: tuple[str, ...]) -> tuple[str, ...]:
    stages: list[str] = []
    for i, arg in enumerate(extra_args):
        value = None
        if arg.startswith("--no-cache-filter="):
            value = arg.split("=", 1)[1]
        elif arg == "--no-cache-filter" and i + 1 < len(extra_args):
            value = extra_args[i + 1]
        if value:
            stages += [s.strip().lower() for s in value.split(",") if s.strip()]
    return tuple(stages)


def imports_of(model: BuildModel) -> tuple[CacheImport, ...]:
    out = []
    for view in model.vertices():
        if view.kind is Kind.CACHE_IMPORT and view.name.startswith(IMPORT_PREFIX):
            ref = view.name[len(IMPORT_PREFIX) :].strip()
            failed = view.state is ModelState.ERROR
            out.append(CacheImport(ref, not failed, view.error if failed else ""))
    return tuple(out)


def steps_of(model: BuildModel, inputs: BuildInputs | None) -> tuple[StepRecord, ...]:
    """One record per platform per Dockerfile step (a step shared by platforms is repeated)."""
    views = model.steps()
    platforms = model.platforms()
    floor, _ = model.span()
    out: list[StepRecord] = []
    printer = inputs.fingerprinter if inputs is not None else None
    placed = {}
    for platform in platforms:
        mine = [
            v for v in views if platform in v.platforms or (not v.platforms and len(platforms) == 1)
        ]
        placed[platform] = place(mine, printer.plan(platform) if printer is not None else None)
    if printer is None:
        placed = fill_from_others(placed)
    for platform, steps in placed.items():
        fingerprints = {}
        if printer is not None:
            froms = {p.id: p.view.instruction[5:].strip() for p in steps if p.index == 1}
            fingerprints = printer.inputs(platform, froms)
        for p in steps:
            v = p.view
            found = fingerprints.get(p.id)
            if found is not None and not _same_keyword(v.instruction, inputs, platform, p.id):
                found = None  # the Dockerfile read does not line up with what BuildKit ran
            out.append(
                StepRecord(
                    platform=platform,
                    stage=p.stage,
                    index=p.index,
                    total=p.total,
                    instruction=v.instruction,
                    state=_STATES.get(v.state, "pending"),
                    duration_s=v.duration_s,
                    inputs=found,
                    start_s=None
                    if v.started is None or floor is None
                    else max(0.0, v.started - floor),
                )
            )
    return tuple(out)


def _same_keyword(instruction: str, inputs: BuildInputs | None, platform: str, sid: str) -> bool:
    if inputs is None or inputs.fingerprinter is None:
        return False
    planned = inputs.fingerprinter.plan(platform).get(sid)
    keyword = instruction.split(None, 1)[0].upper() if instruction.strip() else ""
    return planned is not None and planned.keyword == keyword


def record_of(
    inputs: BuildInputs, model: BuildModel, duration_s: float | None = None
) -> BuildRecord:
    req = inputs.req
    platforms = model.platforms() or req.platforms
    duration = duration_s if duration_s is not None else time.time() - inputs.started_at
    return BuildRecord(
        uid=uuid.uuid4().hex,
        started_at=inputs.started_at,
        duration_s=max(0.0, duration),
        outcome=str(model.status),
        image=inputs.image,
        platforms=tuple(platforms),
        steps=steps_of(model, inputs),
        target=req.target or "",
        dockerfile=req.file or "Dockerfile",
        dockerfile_key=inputs.dockerfile_key,
        context=req.context,
        git_commit=inputs.git_commit,
        git_branch=inputs.git_branch,
        builder=inputs.builder,
        driver=inputs.driver,
        no_cache=req.no_cache,
        no_cache_filter=no_cache_filter(req.extra_args),
        build_args=tuple((k, keep_arg_value(k, v)) for k, v in req.build_args),
        cache_from=req.cache_from,
        cache_to=req.cache_to or "",
        imports=imports_of(model),
    )


def record_of_replay(name: str, model: BuildModel, started_at: float) -> BuildRecord:
    first, last = model.span()
    return BuildRecord(
        uid=uuid.uuid4().hex,
        started_at=first if first is not None else started_at,
        duration_s=(last - first) if first is not None and last is not None else 0.0,
        outcome=str(model.status),
        image=f"replay:{name}",
        platforms=model.platforms(),
        steps=steps_of(model, None),
        imports=imports_of(model),
        source="replay",
    )


# ------------------------------------------------------------------------------ git


def git_state(start: Path, environ: Mapping[str, str]) -> tuple[str, str]:
    """The commit and branch: from the CI's variables, else read from `.git` (no git run)."""
    for sha, ref in (("GITHUB_SHA", "GITHUB_REF_NAME"), ("CI_COMMIT_SHA", "CI_COMMIT_REF_NAME")):
        if environ.get(sha):
            return environ[sha], environ.get(ref, "")
    for folder in (start, *start.parents):
        git = folder / ".git"
        if git.is_file():  # a worktree: `gitdir: PATH`
            try:
                text = read_git_file(git).strip()
            except OSError:
                return "", ""
            if not text.startswith("gitdir:"):
                return "", ""
            git = (folder / text.removeprefix("gitdir:").strip()).resolve()
        if git.is_dir():
            return _read_head(git)
    return "", ""


def _read_head(git: Path) -> tuple[str, str]:
    try:
        head = read_git_file(git / "HEAD").strip()
    except OSError:
        return "", ""
    if not head.startswith("ref:"):
        return head, ""
    ref = head.removeprefix("ref:").strip()
    branch = ref.removeprefix("refs/heads/")
    common = git
    with_common = git / "commondir"
    if with_common.is_file():
        with contextlib.suppress(OSError):
            common = (git / read_git_file(with_common).strip()).resolve()
    for folder in (git, common):
        try:
            return read_git_file(folder / ref).strip(), branch
        except OSError:
            continue

    try:
        packed = read_git_file(common / "packed-refs")
    except OSError:
        return "", branch
    for line in packed.splitlines():
        sha, _, name = line.partition(" ")
        if name == ref:
            return sha, branch
    return "", branch
