"""Which Dockerfile step each FROM vertex is, on each platform. Pure.

BuildKit runs one vertex for every stage that starts from the same image on the same platform,
and names it after one of them, or after none: `[linux/amd64 1/3] FROM busybox` can stand for
`base 1/2` and `final 1/3` at once, and the same stage's FROM is named differently on each
platform. A step's identity is its stage and position in the Dockerfile, so that two platforms,
and two builds, line up on it: with the Dockerfile's plan, each stage that starts from an image
gets the FROM vertex of that image on the platform; without one (a replayed stream), a FROM
named with no stage is given to the one stage of its step count that has no FROM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mab.history.plan import PlannedStep
from mab.progress.model import Kind, StepView


@dataclass(frozen=True, slots=True)
class Placed:
    """A vertex as the Dockerfile step it is."""

    stage: str
    index: int
    total: int
    view: StepView

    @property
    def id(self) -> str:
        return f"{self.stage}#{self.index}"


def place(views: Sequence[StepView], plan: Mapping[str, PlannedStep] | None) -> list[Placed]:
    """One platform's step vertices as Dockerfile steps, FROMs given to every stage that
    starts from their image (a step shared by stages repeated, one per stage)."""
    plain = [Placed(v.stage, v.index, v.total, v) for v in views if v.kind is not Kind.BASE_IMAGE]
    froms = [v for v in views if v.kind is Kind.BASE_IMAGE]
    placed = _by_plan(froms, plan) if plan else _by_count(froms, plain)
    seen: set[str] = set()
    out: list[Placed] = []
    for p in [*placed, *plain]:
        if p.id not in seen:
            seen.add(p.id)
            out.append(p)
    order = {v.stage: i for i, v in enumerate(views)}
    return sorted(out, key=lambda p: (order.get(p.stage, len(order)), p.index))


def fill_from_others(placed: Mapping[str, list[Placed]]) -> dict[str, list[Placed]]:
    """Without a plan: a stage whose FROM is placed on one platform but not on another gets,
    there, the FROM vertex of the same image (BuildKit named it after another stage)."""
    starts: dict[str, tuple[str, int]] = {}
    for steps in placed.values():
        for p in steps:
            if p.view.kind is Kind.BASE_IMAGE and p.index == 1:
                starts.setdefault(p.stage, (normal_ref(_from_ref(p.view)), p.total))
    out: dict[str, list[Placed]] = {}
    for platform, steps in placed.items():
        have = {p.id for p in steps}
        froms = [p.view for p in steps if p.view.kind is Kind.BASE_IMAGE]
        extra = []
        for stage, (ref, total) in starts.items():
            if f"{stage}#1" in have or not any(p.stage == stage for p in steps):
                continue
            same = [v for v in froms if normal_ref(_from_ref(v)) == ref]
            if same:
                extra.append(Placed(stage, 1, total, same[0]))
        order = {p.stage: i for i, p in enumerate(steps)}
        merged = [*steps, *extra]
        out[platform] = sorted(merged, key=lambda p: (order.get(p.stage, len(order)), p.index))
    return out


def _by_plan(froms: Sequence[StepView], plan: Mapping[str, PlannedStep]) -> list[Placed]:
    out = []
    for step in plan.values():
        if step.keyword != "FROM" or not step.image:
            continue
        wanted = normal_ref(step.image)
        named = [v for v in froms if normal_ref(_from_ref(v)) == wanted]
        named.sort(key=lambda v: v.stage != step.stage)  # its own name first
        if named:
            out.append(Placed(step.stage, step.index, step.total, named[0]))
    # FROM vertices no planned stage claims (a Dockerfile that changed since it was read)
    claimed = {id(p.view) for p in out}
    out += [Placed(v.stage, v.index, v.total, v) for v in froms if id(v) not in claimed]
    return out


def _by_count(froms: Sequence[StepView], plain: Sequence[Placed]) -> list[Placed]:
    stages = {p.stage: p.total for p in plain}
    named = {v.stage for v in froms}
    out = []
    for v in froms:
        if v.stage or len(stages) <= 1 or "" in stages:
            out.append(Placed(v.stage, v.index, v.total, v))
            continue
        open_ = [s for s, total in stages.items() if total == v.total and s not in named]
        stage = open_[0] if len(open_) == 1 else v.stage
        out.append(Placed(stage, v.index, v.total, v))
    return out


def _from_ref(view: StepView) -> str:
    words = view.instruction.split()
    return words[1] if len(words) > 1 else ""


def normal_ref(ref: str) -> str:
    """An image reference as BuildKit prints it, without its digest: `node:20` is
    `docker.io/library/node:20`, a reference without a tag has `:latest`."""
    name = ref.split("@", 1)[0].strip()
    if not name:
        return ""
    first, _, rest = name.partition("/")
    if not rest:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"
