"""A Dockerfile read as BuildKit numbers its steps, with what each step's cache key depends on
as far as the Dockerfile tells: the build args in scope and their values, the ENV/USER/SHELL
lines before it, the context sources of a COPY/ADD, and its parent steps. Pure.

BuildKit names a step `[stage i/n]`: it counts FROM (when the base is an image, not another
stage or `scratch`), RUN, COPY, ADD and WORKDIR; metadata-only instructions (ENV, ARG, LABEL,
ENTRYPOINT...) get no number. An unnamed stage is `stage-N`; a Dockerfile of one stage shows
no stage name at all.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mab.detection.dockerfile import (
    arg_declarations,
    expand,
    instructions,
    json_words,
    leading_flags,
    split_words,
)
from mab.history.record import keep_arg_value, step_id

COUNTED = frozenset({"RUN", "COPY", "ADD", "WORKDIR"})
CONFIG = frozenset({"ENV", "USER", "SHELL"})  # change the environment later RUNs see


@dataclass(frozen=True, slots=True)
class PlannedStep:
    stage: str  # as BuildKit names it ("" in a one-stage Dockerfile)
    index: int
    total: int
    keyword: str
    text: str  # the instruction's arguments as written
    args: tuple[tuple[str, str], ...]  # build args in scope: name, value as kept
    sources: tuple[str, ...] | None  # context sources of a COPY/ADD
    parents: tuple[str, ...]
    complete: bool  # False: inputs mab cannot see (bind mounts, remote ADD, --from image)
    own: str  # digest of this step's own inputs, sources excluded (they are hashed later)
    image: str = ""  # FROM: the base image as the build args expand it

    @property
    def id(self) -> str:
        return step_id(self.stage, self.index)


@dataclass
class _Raw:
    keyword: str
    text: str
    args: tuple[tuple[str, str], ...] = ()
    sources: tuple[str, ...] | None = None
    froms: tuple[_Stage, ...] = ()
    complete: bool = True
    own: str = ""
    image: str = ""


@dataclass
class _Stage:
    number: int
    name: str | None
    base: str
    args: dict[str, str | None] = field(default_factory=dict)
    config: list[str] = field(default_factory=list)
    steps: list[_Raw] = field(default_factory=list)
    base_stage: _Stage | None = None


def platform_args(platform: str) -> dict[str, str]:
    os_, _, rest = platform.partition("/")
    arch, _, variant = rest.partition("/")
    return {
        "TARGETPLATFORM": platform,
        "TARGETOS": os_,
        "TARGETARCH": arch,
        "TARGETVARIANT": variant,
    }


def plan_dockerfile(
    text: str, build_args: Mapping[str, str], platform: str = ""
) -> dict[str, PlannedStep]:
    """Every numbered step of the Dockerfile, by step id (`deps#2`)."""
    return _number(_stages(text, build_args, platform))


def stage_graph(text: str) -> tuple[str, ...]:
    """The Dockerfile's stages in order, each as `name<-base`: the base is the earlier stage
    it builds on, or `*` for an image. What stays the same while instructions, base images and
    build args change: two builds with the same path and stage graph are builds of one
    Dockerfile, and may be compared step by step."""
    stages = _stages(text, {}, "")
    out = []
    for stage in stages:
        name = "" if len(stages) == 1 else stage.name or f"stage-{stage.number}"
        base = stage.base_stage
        base_name = "*" if base is None else base.name or f"stage-{base.number}"
        out.append(f"{name}<-{base_name}")
    return tuple(out)


def _stages(text: str, build_args: Mapping[str, str], platform: str) -> list[_Stage]:
    given = {**platform_args(platform), **build_args} if platform else dict(build_args)
    global_args: dict[str, str | None] = {}
    stages: list[_Stage] = []
    by_name: dict[str, _Stage] = {}
    for ins in instructions(text):
        words = split_words(ins.args)
        if ins.keyword == "ARG":
            scope = global_args if not stages else stages[-1].args
            env = _Unset(global_args if not stages else stages[-1].args)
            for name, default in arg_declarations(ins.args):
                if name in given:
                    scope[name] = given[name]
                elif default is not None:
                    scope[name] = expand(default, env)
                else:
                    scope[name] = global_args.get(name)
            continue
        if ins.keyword == "FROM":
            _, rest = leading_flags(words)
            if not rest:
                continue
            base = expand(rest[0], _Unset(global_args))
            alias = rest[2].lower() if len(rest) >= 3 and rest[1].lower() == "as" else None
            stage = _Stage(len(stages), alias, base, base_stage=by_name.get(base.lower()))
            if stage.base_stage is not None:
                stage.args = dict(stage.base_stage.args)
                stage.config = list(stage.base_stage.config)
            elif base.lower() != "scratch":
                own = parts_digest("FROM", ins.args)
                stage.steps.append(_Raw("FROM", ins.args, own=own, image=base))
            stages.append(stage)
            by_name[str(len(stages) - 1)] = stage
            if alias:
                by_name[alias] = stage
            continue
        if not stages:
            continue
        stage = stages[-1]
        if ins.keyword in CONFIG:
            stage.config.append(f"{ins.keyword} {ins.args}")
        elif ins.keyword in COUNTED:
            stage.steps.append(_step(ins.keyword, ins.args, ins.heredocs, stage, by_name))
    return stages


def _step(
    keyword: str, args: str, heredocs: str, stage: _Stage, by_name: Mapping[str, _Stage]
) -> _Raw:
    env = dict(stage.args)
    flags, rest = leading_flags(split_words(args))
    complete = True
    froms: list[_Stage] = []
    sources: tuple[str, ...] | None = None
    if keyword in ("COPY", "ADD"):
        if "from" in flags:
            other = by_name.get(flags["from"][-1].lower())
            if other is None:
                complete = False  # an image or a named context: its digest is not seen here
            else:
                froms.append(other)
        else:
            remainder = " ".join(rest)
            words = json_words(remainder) if remainder.startswith("[") else rest
            paths = [expand(w, _Unset(env)) for w in words[:-1] if not w.startswith("<<")]
            if any("://" in p or p.startswith("git@") for p in paths):
                complete = False
            sources = tuple(p for p in paths if "://" not in p and not p.startswith("git@"))
    if keyword == "RUN":
        for spec in flags.get("mount", []):
            fields = dict(item.partition("=")[::2] for item in spec.split(","))
            kind = fields.get("type", "bind")
            source_stage = by_name.get(fields.get("from", "").lower())
            if source_stage is not None:
                froms.append(source_stage)
            elif kind == "bind" or (kind == "cache" and fields.get("from")):
                complete = False  # a bind mount of the context or of an image
    used = env.items() if keyword == "RUN" else ((k, v) for k, v in env.items() if _uses(args, k))
    kept = tuple(
        (name, keep_arg_value(name, value)) for name, value in sorted(used) if value is not None
    )
    own = parts_digest(keyword, args, heredocs, "\n".join(stage.config), repr(kept))
    return _Raw(keyword, args, kept, sources, tuple(froms), complete, own)


def _number(stages: list[_Stage]) -> dict[str, PlannedStep]:
    out: dict[str, PlannedStep] = {}
    last: dict[int, str] = {}
    for stage in stages:
        display = "" if len(stages) == 1 else stage.name or f"stage-{stage.number}"
        total = len(stage.steps)
        previous = last.get(stage.base_stage.number) if stage.base_stage is not None else None
        for i, raw in enumerate(stage.steps, start=1):
            sid = step_id(display, i)
            parents = [previous] if previous else []
            parents += [last[o.number] for o in raw.froms if o.number in last]
            out[sid] = PlannedStep(
                display,
                i,
                total,
                raw.keyword,
                raw.text,
                raw.args,
                raw.sources,
                tuple(parents),
                raw.complete,
                raw.own,
                raw.image,
            )
            previous = sid
        if previous:
            last[stage.number] = previous
    return out


class _Unset(dict[str, str | None]):
    """Variables as BuildKit expands them: one that is not set (or has no value) is empty."""

    def get(self, key: str, default: object = None) -> str:
        value = super().get(key)
        return "" if value is None else value


def _uses(text: str, name: str) -> bool:
    """Whether the text refers to the variable (`$NAME`, `${NAME}`, `${NAME:-x}`)."""
    return re.search(r"\$\{?" + re.escape(name) + r"(?![A-Za-z0-9_])", text) is not None


def parts_digest(*parts: str) -> str:
    """A short digest of the parts, each ended by a NUL (no two lists of parts collide)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]
