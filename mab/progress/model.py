"""The build model: what a build is doing, per platform, from the decoded progress events.

`BuildModel.apply(event)` merges each update (vertices are deltas, keyed by digest), attributes
platforms through the `inputs` graph, classifies vertices and keeps a bounded tail of each
step's logs. Readers (the TUI, the plain printer, summaries) call the cheap read methods;
`version` grows on every change so a view can redraw only when something changed.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from enum import StrEnum

from mab.config.settings import KNOWN_PLATFORMS
from mab.progress.ansi import clean
from mab.progress.decoder import Event, SolveStatus, TextLine, Vertex, VertexLog
from mab.progress.names import Kind, ParsedName, parse_name, target_platform

__all__ = [
    "BuildModel",
    "BuildStatus",
    "Kind",
    "LogTail",
    "ParsedName",
    "Progress",
    "StepDetail",
    "StepState",
    "StepView",
    "parse_name",
    "target_platform",
]

LOG_LINES = 500  # per step and stream, when read
LOG_BYTES = 64 * 1024  # per step and stream
LOG_LINE_CHARS = 4096
MAX_LOG_FEED = 4096
LOG_BUDGET = 32 * 1024 * 1024  # all steps' kept logs; the least recently written go first
MAX_PROGRESS = 256  # sub-progress entries kept per vertex
MAX_TEXT_LINES = 1000
MAX_WARNINGS = 1000


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    CACHED = "cached"
    DONE = "done"
    ERROR = "error"
    CANCELED = "canceled"


class BuildStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class Progress:
    """Sub-progress of a step: a layer pull, an extraction, a push."""

    id: str
    name: str
    current: int
    total: int
    started: float | None
    completed: float | None


@dataclass(frozen=True, slots=True)
class StepView:
    """A step (one vertex, or the vertices of one progress group) as a UI shows it."""

    key: str  # the digest, or "group:<id>" for a progress group
    digests: tuple[str, ...]
    name: str
    kind: Kind
    target: str
    platforms: tuple[str, ...]
    stage: str
    index: int  # 0 when the vertex is not a Dockerfile instruction
    total: int
    instruction: str
    state: StepState
    started: float | None
    completed: float | None
    error: str
    progress: tuple[Progress, ...]
    log_lines: int  # lines seen, kept or not

    @property
    def duration_s(self) -> float | None:
        if self.started is None or self.completed is None:
            return None
        return max(0.0, self.completed - self.started)

    @property
    def is_instruction(self) -> bool:
        """A Dockerfile instruction other than FROM: what cache hits are counted over."""
        return self.kind is Kind.STEP

    @property
    def label(self) -> str:
        """`deps 3/4 RUN ./install.sh`, or the vertex name for other vertices."""
        if not self.index:
            return self.name
        stage = f"{self.stage} " if self.stage else ""
        return f"{stage}{self.index}/{self.total} {self.instruction}"


@dataclass(frozen=True, slots=True)
class LogTail:
    """The last lines of a step's output; `lines` interleaves both streams in order, with
    their colour codes (SGR) for a terminal view; `text` and `stream` are plain text."""

    lines: tuple[tuple[int, str], ...]  # (stream: 1 stdout / 2 stderr, text)
    dropped: int  # lines no longer kept
    partial: int = 0  # how many of the last `lines` are not ended by a newline yet

    def stream(self, stream: int) -> tuple[str, ...]:
        return tuple(clean(text) for s, text in self.lines if s == stream)

    @property
    def text(self) -> tuple[str, ...]:
        return tuple(clean(text) for _, text in self.lines)


@dataclass(frozen=True, slots=True)
class StepDetail:
    step: StepView
    log: LogTail


class _Log:
    """A bounded per-step log: the last output chunks of stdout and of stderr, kept apart.

    Chunks are kept as they came (cheap while a build runs) and cut into lines when read.
    """

    __slots__ = ("chunks", "seen", "seq", "size", "trimmed")

    def __init__(self) -> None:
        self.chunks: dict[int, deque[tuple[int, bytes]]] = {1: deque(), 2: deque()}
        self.size = {1: 0, 2: 0}
        self.trimmed = {1: False, 2: False}
        self.seq = 0
        self.seen = 0  # newlines seen

    def add(self, stream: int, data: bytes) -> int:
        """Keep a chunk; returns how many bytes more (or fewer) this log now holds."""
        before = self.size[1] + self.size[2]
        self.seen += data.count(b"\n")
        if len(data) > LOG_BYTES:
            data = data[-LOG_BYTES:]
            self.trimmed[stream] = True
        self.seq += 1
        chunks = self.chunks[stream]
        chunks.append((self.seq, data))
        size = self.size[stream] + len(data)
        while size > LOG_BYTES and len(chunks) > 1:
            size -= len(chunks.popleft()[1])
            self.trimmed[stream] = True
        self.size[stream] = size
        return self.size[1] + self.size[2] - before

    def evict(self) -> int:
        """Forget every kept chunk (the build's log budget is spent); returns bytes freed."""
        freed = self.size[1] + self.size[2]
        for stream, chunks in self.chunks.items():
            if chunks:
                chunks.clear()
                self.trimmed[stream] = True
            self.size[stream] = 0
        return freed

    def tail(self, limit: int = LOG_LINES) -> LogTail:
        merged: list[tuple[int, int, str]] = []
        partial: list[tuple[int, str]] = []
        for stream, chunks in self.chunks.items():
            pending = b""
            mine: list[tuple[int, int, bytes]] = []
            for seq, data in chunks:
                parts = (pending + data).split(b"\n")
                pending = parts.pop()
                mine.extend((seq, stream, raw) for raw in parts)
            if self.trimmed[stream] and mine:
                mine.pop(0)  # the first line lost its beginning
            merged.extend((seq, s, _line(raw)) for seq, s, raw in mine[-limit:])
            if pending:
                partial.append((stream, _line(pending)))
        merged.sort(key=lambda x: x[0])
        lines = [(stream, text) for _, stream, text in merged]
        dropped = max(0, self.seen - len(lines))
        return LogTail(tuple(lines + partial), dropped, len(partial))


def _line(raw: bytes) -> str:
    # Colours stay (a terminal view shows them); every other control sequence goes, and a
    # progress bar redrawn in place keeps what was shown last.
    text = clean(raw.decode("utf-8", "replace"), colour=True)
    if len(text) > LOG_LINE_CHARS:
        text = text[:LOG_LINE_CHARS] + "…"
    return text


BUILD_DEFINITION = "[internal] load build definition"
PLATFORMS_HEADER = "# mab platforms: "


def record_header(platforms: tuple[str, ...]) -> bytes:
    """The first line of a recording `mab build --record` makes (buildx never writes a line
    starting with `#`, and the decoder hands it over as text)."""
    return f"{PLATFORMS_HEADER}{','.join(platforms)}\n".encode()


class _Node:
    """One vertex as known so far (or a placeholder for an input not sent yet)."""

    __slots__ = (
        "cached",
        "completed",
        "consumers",
        "digest",
        "error",
        "group",
        "inputs",
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
        self.consumers: list[_Node] = []
        self.platforms: set[str] = set()
        self.started: float | None = None
        self.completed: float | None = None
        self.cached = False
        self.error = ""
        self.group = ""
        self.progress: dict[str, Progress] = {}
        self.log: _Log | None = None
        self.step: _Step | None = None

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


def _combined(states: set[StepState]) -> StepState:
    """The state of a progress group: cached only if every member is."""
    for worst in (StepState.ERROR, StepState.CANCELED):
        if worst in states:
            return worst
    if states <= {StepState.CACHED, StepState.DONE}:
        return StepState.DONE
    return StepState.RUNNING


class _Step:
    """What a UI lists: a vertex, or the vertices of one progress group (`COPY --link`)."""

    __slots__ = ("key", "members", "order", "view")

    def __init__(self, key: str, order: int) -> None:
        self.key = key
        self.order = order
        self.members: list[_Node] = []
        self.view: StepView | None = None

    def build(self, finished: BuildStatus, platform_rank: dict[str, int]) -> StepView:
        members = [m for m in self.members if m.known] or self.members
        head = next((m for m in members if m.parsed.index), members[0])
        states = {m.state(finished) for m in members}
        state = states.pop() if len(states) == 1 else _combined(states)
        platforms: set[str] = set()
        for m in members:
            platforms |= m.platforms
        starts = [m.started for m in members if m.started is not None]
        ends = [m.completed for m in members if m.completed is not None]
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
        )


class BuildModel:
    """Everything known about one build. Single-threaded: apply and read from one thread."""

    def __init__(self, platforms: tuple[str, ...] = ()) -> None:
        self.requested = tuple(platforms)
        self._single = platforms[0] if len(platforms) == 1 else None
        self._nodes: dict[str, _Node] = {}
        self._steps: dict[str, _Step] = {}
        self._platform_rank: dict[str, int] = {p: i for i, p in enumerate(self.requested)}
        self._stage_rank: dict[tuple[str, str], tuple[int, str, str]] = {}
        self._graph_version = 0
        self._ranked_version = -1
        self._changed: dict[str, None] = {}
        self._list_version = -1
        self._list: tuple[tuple[StepView, ...], tuple[StepView, ...]] = ((), ())
        self.version = 0
        self.status = BuildStatus.RUNNING
        self.exit_code: int | None = None
        self.text: deque[str] = deque(maxlen=MAX_TEXT_LINES)  # non-JSON lines of the stream
        self.text_count = 0  # lines of text seen, kept or not
        self._log_bytes = 0
        self._log_lru: OrderedDict[_Node, None] = OrderedDict()  # least recently written first
        # The latest log chunks as they came, for a printer that follows them all.
        self.keep_log_feed = False
        self.log_feed: deque[tuple[str, int, bytes]] = deque(maxlen=MAX_LOG_FEED)
        self.log_count = 0
        self.error_text: list[str] = []
        self.warnings: deque[tuple[str, str, tuple[str, ...]]] = deque(maxlen=MAX_WARNINGS)
        self.events = 0

    # -- writing ---------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        self.events += 1
        if isinstance(event, TextLine):
            self._text(event.text)
            return
        if not isinstance(event, SolveStatus):
            return
        for v in event.vertexes:
            self._vertex(v)
        for s in event.statuses:
            node = self._node(s.vertex)
            if s.id not in node.progress and len(node.progress) >= MAX_PROGRESS:
                continue
            node.progress[s.id] = Progress(
                s.id, s.name or s.id, s.current, s.total, s.started, s.completed
            )
            self._touch(node)
        for log in event.logs:
            self._log(log)
        for w in event.warnings:
            self.warnings.append((w.vertex, w.short, w.detail))
        self.version += 1

    def finish(self, exit_code: int, canceled: bool = False) -> None:
        """The build process ended: set the final status from its exit code."""
        self.exit_code = exit_code
        if canceled:
            self.status = BuildStatus.CANCELED
        else:
            self.status = BuildStatus.SUCCEEDED if exit_code == 0 else BuildStatus.FAILED
        for step in self._steps.values():
            step.view = None
            self._changed[step.key] = None
        self.version += 1

    def _request(self, platforms: tuple[str, ...]) -> None:
        self.requested = tuple(platforms)
        self._single = platforms[0] if len(platforms) == 1 else None
        for p in self.requested:
            self._platform_rank.setdefault(p, len(self._platform_rank))

    def _unrequested_rank(self, platform: str) -> int:
        """Platforms nobody asked for (a replay) in the usual order: amd64 before arm64."""
        try:
            canonical = KNOWN_PLATFORMS.index(platform)
        except ValueError:
            canonical = len(KNOWN_PLATFORMS) + len(self._platform_rank)
        return len(self.requested) + canonical

    def _text(self, text: str) -> None:
        text = clean(text)  # buildx's error block quotes the step's output as it was
        if text.startswith(PLATFORMS_HEADER) and not self.requested and not self._nodes:
            # mab's recordings start by naming the requested platforms: a single-platform
            # build's stream names none, so a replay would not know which it was.
            names = text[len(PLATFORMS_HEADER) :].split(",")
            self._request(tuple(n.strip() for n in names if n.strip()))
            return
        self.text.append(text)
        self.text_count += 1
        if text.startswith("ERROR:") or (self.error_text and len(self.error_text) < 200):
            self.error_text.append(text)
        self.version += 1

    def _node(self, digest: str) -> _Node:
        node = self._nodes.get(digest)
        if node is None:
            node = self._nodes[digest] = _Node(digest, len(self._nodes))
        return node

    def _vertex(self, v: Vertex) -> None:
        node = self._node(v.digest)
        if not node.known:
            node.known = True
            self._graph_version += 1
        if v.name and not node.name:  # BuildKit's first name for a digest is the one
            node.name = v.name
            node.parsed = parse_name(v.name)
            seed = node.parsed.platform or (self._single if node.parsed.seeded else None)
            if seed:
                self._platform_rank.setdefault(seed, self._unrequested_rank(seed))
                self._spread(node, {seed})
        if v.inputs != node.inputs:
            for digest in v.inputs:
                if digest in node.inputs:
                    continue
                source = self._node(digest)
                source.consumers.append(node)
                if node.platforms - source.platforms:
                    self._spread(source, set(node.platforms))
            node.inputs = tuple(dict.fromkeys(node.inputs + v.inputs))
            self._graph_version += 1
        # Each update carries the vertex's whole state, and a vertex can open again: after a
        # hit in an imported registry cache it is run again to fetch and extract the cached
        # layers (buildx plain then prints DONE). It stays a cache hit; its time runs from
        # its first start to its last completion.
        if node.started is None or (v.started is not None and v.started < node.started):
            node.started = v.started
        node.completed = v.completed
        node.cached = node.cached or v.cached
        node.error = v.error
        group = v.progress_group.id if v.progress_group else ""
        if node.step is None or (group and group != node.group):
            node.group = group
            self._attach(node)
        self._touch(node)

    def _attach(self, node: _Node) -> None:
        if node.step is not None:  # moving into a progress group
            node.step.members.remove(node)
            node.step.view = None
            if not node.step.members:
                self._steps.pop(node.step.key, None)
        key = f"group:{node.group}" if node.group else node.digest
        step = self._steps.get(key)
        if step is None:
            step = self._steps[key] = _Step(key, node.order)
        step.members.append(node)
        node.step = step

    def _spread(self, start: _Node, platforms: set[str]) -> None:
        """Add platforms to a vertex and, through `inputs`, to everything it consumes."""
        work = [(start, platforms)]
        nodes = self._nodes
        while work:
            node, adding = work.pop()
            new = adding - node.platforms
            if not new:
                continue
            node.platforms |= new
            self._touch(node)
            work.extend((nodes[d], new) for d in node.inputs)

    def _touch(self, node: _Node) -> None:
        step = node.step
        if step is not None:
            step.view = None
            self._changed[step.key] = None

    def _log(self, log: VertexLog) -> None:
        node = self._node(log.vertex)
        if node.log is None:
            node.log = _Log()
        self._log_bytes += node.log.add(log.stream, log.data)
        lru = self._log_lru
        if node in lru:
            lru.move_to_end(node)
        else:
            lru[node] = None
        while self._log_bytes > LOG_BUDGET and len(lru) > 1:
            oldest, _ = lru.popitem(last=False)
            if oldest.log is not None:
                self._log_bytes -= oldest.log.evict()
                self._touch(oldest)
        if self.keep_log_feed:
            self.log_feed.append((log.vertex, log.stream, log.data[-LOG_BYTES:]))
            self.log_count += 1
        self._touch(node)

    # -- reading ---------------------------------------------------------------------------

    def platforms(self) -> tuple[str, ...]:
        """Requested platforms first, then others in the order they appeared."""
        return tuple(sorted(self._platform_rank, key=self._platform_rank.__getitem__))

    def _view(self, step: _Step) -> StepView:
        if step.view is None:
            step.view = step.build(self.status, self._platform_rank)
        return step.view

    def _lists(self) -> tuple[tuple[StepView, ...], tuple[StepView, ...]]:
        if self._list_version != self.version:
            known = [s for s in self._steps.values() if any(m.known for m in s.members)]
            views = [(s, self._view(s)) for s in known]
            steps = [(s, v) for s, v in views if v.index]
            stage_rank = self._rank_stages(steps)
            steps.sort(
                key=lambda sv: (
                    stage_rank.get((sv[1].target, sv[1].stage), (0, "", "")),
                    sv[1].index,
                    self._platform_rank.get(sv[1].platforms[0], 99) if sv[1].platforms else 99,
                    sv[0].order,
                )
            )
            wide = [v for s, v in views if not v.index and not v.platforms]
            self._list = (tuple(v for _, v in steps), tuple(wide))
            self._list_version = self.version
        return self._list

    def _rank_stages(
        self, steps: list[tuple[_Step, StepView]]
    ) -> dict[tuple[str, str], tuple[int, str, str]]:
        """Stages in Dockerfile order as far as the stream shows it: a stage comes after every
        stage it copies from or builds on (by the `inputs` graph), stages on the same level
        by name. Neither BuildKit's arrival order nor timing enters, so a run and its rerun
        list the same steps in the same order."""
        if self._ranked_version == self._graph_version:
            return self._stage_rank
        stage_of: dict[str, tuple[str, str]] = {}
        for step, view in steps:
            for m in step.members:
                stage_of[m.digest] = (view.target, view.stage)
        after: dict[tuple[str, str], set[tuple[str, str]]] = {k: set() for k in stage_of.values()}
        nodes = self._nodes
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

        self._stage_rank = {k: (depth(k, frozenset()), k[0], k[1]) for k in after}
        self._ranked_version = self._graph_version
        return self._stage_rank

    def steps(self) -> tuple[StepView, ...]:
        """Dockerfile steps (FROM included), by stage order then index; shared ones once."""
        return self._lists()[0]

    def build_wide(self) -> tuple[StepView, ...]:
        """Vertices of no platform: context loads, cache import/export, exporters, pushes."""
        return self._lists()[1]

    def vertices(self) -> tuple[StepView, ...]:
        """Every step and vertex sent so far, in arrival order."""
        known = [s for s in self._steps.values() if any(m.known for m in s.members)]
        return tuple(self._view(s) for s in sorted(known, key=lambda s: s.order))

    def _find(self, key: str) -> _Step | None:
        step = self._steps.get(key)
        if step is None:
            node = self._nodes.get(key)
            step = node.step if node is not None else None
        return step

    def view(self, key: str) -> StepView | None:
        """A step by key or by the digest of any of its vertices (cheap: no logs)."""
        step = self._find(key)
        return self._view(step) if step is not None else None

    def step(self, key: str) -> StepDetail | None:
        """A step by key or by the digest of any of its vertices, with its log tail."""
        step = self._find(key)
        if step is None:
            return None
        logs = [m.log for m in step.members if m.log is not None]
        if not logs:
            return StepDetail(self._view(step), LogTail((), 0))
        if len(logs) == 1:
            return StepDetail(self._view(step), logs[0].tail())
        tails = [log.tail() for log in logs]
        lines = tuple(line for t in tails for line in t.lines[: len(t.lines) - t.partial])
        return StepDetail(self._view(step), LogTail(lines, sum(t.dropped for t in tails)))

    def changed_steps(self) -> list[str]:
        """Keys of steps changed since the last call (for one consumer, e.g. the printer)."""
        keys = list(self._changed)
        self._changed.clear()
        return keys

    def failed_step(self) -> StepView | None:
        """The Dockerfile step that failed first, else any other vertex that did (a failed
        cache import or export is left out: buildx goes on without it)."""
        failed = [v for v in self.steps() if v.state is StepState.ERROR]
        if not failed:
            failed = [
                v
                for v in self.vertices()
                if v.state is StepState.ERROR
                and v.kind not in (Kind.CACHE_IMPORT, Kind.CACHE_EXPORT)
            ]
        failed.sort(key=lambda v: v.completed or 0.0)
        return failed[0] if failed else None

    def span(self) -> tuple[float | None, float | None]:
        """This build's start and its latest completion.

        BuildKit shares vertices between builds: a step an earlier (or concurrent) build ran
        or cached can arrive with that build's old timestamps. Every build loads its own build
        definition first, so that vertex's start is where this build began; without one (a
        truncated stream) the earliest start is used."""
        starts = [n.started for n in self._nodes.values() if n.started is not None]
        ends = [n.completed for n in self._nodes.values() if n.completed is not None]
        own = [
            n.started
            for n in self._nodes.values()
            if n.started is not None and n.name.startswith(BUILD_DEFINITION)
        ]
        first = min(own) if own else (min(starts) if starts else None)
        return (first, max(ends) if ends else None)
