"""The build graph as the model keeps it: one `Node` per vertex, one `StepGroup` per step a UI
lists (a vertex, or the vertices of one progress group). Mutable, internal to the model."""

from __future__ import annotations

from mab.progress.logs import StepLog
from mab.progress.names import parse_name
from mab.progress.steps import (
    BuildStatus,
    Progress,
    StepState,
    StepView,
    merged_length,
    merged_runs,
)

__all__ = ["Node", "StepGroup", "combined", "rank_stages"]


class Node:
    """One vertex as known so far (or a placeholder for an input not sent yet)."""

    __slots__ = (
        "cached",
        "completed",
        "consumers",
        "digest",
        "error",
        "group",
        "inputs",
        "intervals",
        "known",
        "log",
        "name",
        "order",
        "parsed",
        "platforms",
        "progress",
        "started",
        "step",
    )

    def __init__(self, digest: str, order: int) -> None:
        self.digest = digest
        self.order = order
        self.known = False
        self.name = ""
        self.parsed = parse_name("")
        self.inputs: tuple[str, ...] = ()
        self.consumers: list[Node] = []
        self.platforms: set[str] = set()
        self.started: float | None = None
        self.completed: float | None = None
        self.intervals: list[list[float | None]] = []  # [start, stop] of each run
        self.cached = False
        self.error = ""
        self.group = ""
        self.progress: dict[str, Progress] = {}
        self.log: StepLog | None = None
        self.step: StepGroup | None = None

    def state(self, finished: BuildStatus) -> StepState:
        if self.error:
            return StepState.CANCELED if self.error.endswith("canceled") else StepState.ERROR
        if self.cached:
            return StepState.CACHED
        if self.completed is not None:
            return StepState.DONE
        if self.started is not None:
            if finished in (BuildStatus.FAILED, BuildStatus.CANCELED):
                return StepState.CANCELED  # the stream ended while it ran
            return StepState.RUNNING
        return StepState.PENDING


def combined(states: set[StepState]) -> StepState:
    """The state of a progress group: cached only if every member is."""
    for worst in (StepState.ERROR, StepState.CANCELED):
        if worst in states:
            return worst
    if states <= {StepState.CACHED, StepState.DONE}:
        return StepState.DONE
    return StepState.RUNNING


class StepGroup:
    """What a UI lists: a vertex, or the vertices of one progress group (`COPY --link`)."""

    __slots__ = ("key", "members", "order", "view")

    def __init__(self, key: str, order: int) -> None:
        self.key = key
        self.order = order
        self.members: list[Node] = []
        self.view: StepView | None = None

    def build(self, finished: BuildStatus, platform_rank: dict[str, int]) -> StepView:
        members = [m for m in self.members if m.known] or self.members
        head = next((m for m in members if m.parsed.index), members[0])
        states = {m.state(finished) for m in members}
        state = states.pop() if len(states) == 1 else combined(states)
        platforms: set[str] = set()
        for m in members:
            platforms |= m.platforms
        starts = [m.started for m in members if m.started is not None]
        ends = [m.completed for m in members if m.completed is not None]
        runs = [(a, b) for m in members for a, b in m.intervals if a is not None and b is not None]
        done = bool(runs) and len(ends) == len(members)
        progress: list[Progress] = []
        for m in members:
            progress.extend(m.progress.values())
        p = head.parsed
        return StepView(
            key=self.key,
            digests=tuple(m.digest for m in members),
            name=head.name,
            kind=p.kind,
            target=p.target,
            platforms=tuple(sorted(platforms, key=lambda x: (platform_rank.get(x, 99), x))),
            stage=p.stage,
            index=p.index,
            total=p.total,
            instruction=p.instruction,
            state=state,
            started=min(starts) if starts else None,
            completed=max(ends) if ends and len(ends) == len(members) else None,
            error=next((m.error for m in members if m.error), ""),
            progress=tuple(progress),
            log_lines=sum(m.log.seen for m in members if m.log is not None),
            run_s=merged_length(runs) if done else None,
            runs=merged_runs(
                [(a, b) for m in members for a, b in m.intervals if a is not None],
                finished=len(ends) == len(members),
            ),
        )


def rank_stages(
    steps: list[tuple[StepGroup, StepView]], nodes: dict[str, Node]
) -> dict[tuple[str, str], tuple[int, str, str]]:
    """Stages in Dockerfile order as far as the stream shows it: a stage comes after every
    stage it copies from or builds on (by the `inputs` graph), stages on the same level
    by name. Neither BuildKit's arrival order nor timing enters, so a run and its rerun
    list the same steps in the same order."""
    stage_of: dict[str, tuple[str, str]] = {}
    for step, view in steps:
        for m in step.members:
            stage_of[m.digest] = (view.target, view.stage)
    after: dict[tuple[str, str], set[tuple[str, str]]] = {k: set() for k in stage_of.values()}
    for digest, stage in stage_of.items():
        seen: set[str] = set()
        work = list(nodes[digest].inputs)
        while work:  # through vertices of no stage (a context, a cache) to stage steps
            d = work.pop()
            if d in seen:
                continue
            seen.add(d)
            other = stage_of.get(d)
            if other is None:
                work.extend(nodes[d].inputs)
            elif other != stage:
                after[stage].add(other)
    level: dict[tuple[str, str], int] = {}

    def depth(stage: tuple[str, str], path: frozenset[tuple[str, str]]) -> int:
        if stage not in level:
            deps = [d for d in after[stage] if d not in path]
            level[stage] = 1 + max((depth(d, path | {stage}) for d in deps), default=-1)
        return level[stage]

    return {k: (depth(k, frozenset()), k[0], k[1]) for k in after}
