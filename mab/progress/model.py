"""The build model: what a build is doing, per platform, from the decoded progress events.

`BuildModel.apply(event)` merges each update (vertices are deltas, keyed by digest), attributes
platforms through the `inputs` graph, classifies vertices and keeps a bounded tail of each
step's logs. Readers (the TUI, the plain printer, summaries) call the cheap read methods;
`version` grows on every change so a view can redraw only when something changed.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence

from mab.config.types import KNOWN_PLATFORMS
from mab.progress.ansi import clean, lines, safe
from mab.progress.cacheexport import ExportTracker
from mab.progress.decoder import Event, SolveStatus, TextLine, Vertex, VertexLog, VertexStatus
from mab.progress.events import seconds
from mab.progress.graph import Node, StepGroup, rank_stages
from mab.progress.logs import LOG_BUDGET, LOG_BYTES, LOG_LINES, LogTail, StepLog
from mab.progress.names import Kind, ParsedName, parse_name, target_platform
from mab.progress.outcome import Outcome, failed_step, recorded_outcome
from mab.progress.recording import PLATFORMS_HEADER, read_trailer, record_header
from mab.progress.steps import (
    BuildStatus,
    Progress,
    StepDetail,
    StepState,
    StepView,
)

__all__ = [
    "LOG_BYTES",
    "LOG_LINES",
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
    "record_header",
    "target_platform",
]

MAX_LOG_FEED = 4096
MAX_PROGRESS = 256  # sub-progress entries kept per vertex
MAX_TEXT_LINES = 1000
MAX_WARNINGS = 1000


BUILD_DEFINITION = "[internal] load build definition"


# Vertices the cache-export tracker never needs to see (most of a stream).
_BUILD_STEPS = frozenset({Kind.STEP, Kind.INTERNAL})


class BuildModel:
    """Everything known about one build. Single-threaded: apply and read from one thread."""

    def __init__(
        self, platforms: tuple[str, ...] = (), *, default_platform: str | None = None
    ) -> None:
        """`platforms`: the requested ones. `default_platform`: the one the builder builds
        when none is named, for a single-platform stream (buildx names no platform then)."""
        self.requested = tuple(platforms)
        self._single = platforms[0] if len(platforms) == 1 else None
        self.default_platform = default_platform
        self.platform_inferred = False  # the one platform was not named by stream or request
        self.trailer: tuple[str, int] | None = None  # the outcome line of mab's recording
        self._nodes: dict[str, Node] = {}
        self._steps: dict[str, StepGroup] = {}
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
        self._log_lru: OrderedDict[Node, None] = OrderedDict()  # least recently written first
        # The latest log chunks as they came, for a printer that follows them all.
        self.keep_log_feed = False
        self.log_feed: deque[tuple[str, int, bytes]] = deque(maxlen=MAX_LOG_FEED)
        self.log_count = 0
        self.error_text: list[str] = []
        self.warnings: deque[tuple[str, str, tuple[str, ...]]] = deque(maxlen=MAX_WARNINGS)
        self.events = 0
        self.exports = ExportTracker()  # what became of the cache exports
        self.cache_to: tuple[str, ...] = ()  # the request's `--cache-to` values, when known

    # -- writing ---------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        self.events += 1
        if type(event) is not SolveStatus:
            if isinstance(event, TextLine):
                self._text(event.text)
            return
        if event.vertexes:
            exports = self.exports
            for v in event.vertexes:
                if v.digest:
                    parsed = self._vertex(v).parsed
                    if parsed.kind not in _BUILD_STEPS:  # exports, imports, bases
                        exports.vertex(v)
        if event.statuses:
            self._statuses(event.statuses)
        if event.logs:
            self._logs(event.logs)
        if event.warnings:
            self.warnings += [(w.vertex, safe(w.text()), lines(w.lines())) for w in event.warnings]
        self.version += 1

    def apply_all(self, events: Iterable[Event]) -> None:
        """`apply` each event in turn; a run of events that carry only logs (most of a busy
        step's output) goes to the logs in one piece, each step touched once."""
        logs: list[VertexLog] = []
        for event in events:
            if type(event) is SolveStatus and not (
                event.vertexes or event.statuses or event.warnings
            ):
                logs += event.logs
                self.events += 1
                continue
            if logs:
                self._logs(logs)
                logs = []
                self.version += 1
            self.apply(event)
        if logs:
            self._logs(logs)
            self.version += 1

    def _statuses(self, statuses: tuple[VertexStatus, ...]) -> None:
        exports = self.exports
        for s in statuses:
            node = self._node(s.vertex)
            if node.parsed.kind not in _BUILD_STEPS:
                exports.status(s)
            if s.id not in node.progress and len(node.progress) >= MAX_PROGRESS:
                continue
            title = safe(s.name or s.id)
            node.progress[s.id] = Progress(
                s.id, title, s.current, s.total, seconds(s.started), seconds(s.completed)
            )
            self._touch(node)

    def finish(
        self, exit_code: int, canceled: bool = False, *, outcome: Outcome | None = None
    ) -> None:
        """The build ended: set the final status from its exit code, or from the outcome a
        recording showed (`recorded_outcome()`)."""
        if outcome is not None:
            exit_code, status = outcome.exit_code, outcome.status
        elif canceled:
            status = BuildStatus.CANCELED
        else:
            status = BuildStatus.SUCCEEDED if exit_code == 0 else BuildStatus.FAILED
        self.exit_code = exit_code
        self.status = status
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
        if text.startswith("# mab "):  # mab's own lines around a recording
            if text.startswith(PLATFORMS_HEADER) and not self.requested and not self._nodes:
                # A single-platform build's stream names no platform: the header does.
                names = text[len(PLATFORMS_HEADER) :].split(",")
                self._request(tuple(n.strip() for n in names if n.strip()))
                return
            trailer, text = read_trailer(text)  # a damaged one: a warning line instead
            if trailer is not None:
                self.trailer = trailer
                return
        self.text.append(text)
        self.text_count += 1
        if text.startswith("ERROR:") or (self.error_text and len(self.error_text) < 200):
            self.error_text.append(text)
        self.version += 1

    def _node(self, digest: str) -> Node:
        node = self._nodes.get(digest)
        if node is None:
            node = self._nodes[digest] = Node(digest, len(self._nodes))
        return node

    def _vertex(self, v: Vertex) -> Node:
        node = self._node(v.digest)
        if not node.known:
            node.known = True
            self._graph_version += 1
        if v.name and not node.name:  # BuildKit's first name for a digest is the one
            node.name = safe(v.name)  # outside text: no control sequence, no lone surrogate
            node.parsed = parse_name(node.name)
            seed = node.parsed.platform or (self._single if node.parsed.seeded else None)
            if not seed and node.parsed.seeded and not self.requested and self.default_platform:
                # buildx prefixes no step with a platform when it builds one (multi-platform
                # streams prefix every step): name the builder's default, and say so.
                self._request((self.default_platform,))
                self.platform_inferred = True
                seed = self.default_platform
            if seed:
                self._platform_rank.setdefault(seed, self._unrequested_rank(seed))
                self._spread(node, {seed})
        inputs = v.inputs
        if "" in inputs:
            inputs = tuple(filter(None, inputs))
        if inputs != node.inputs:
            for digest in inputs:
                if digest in node.inputs:
                    continue
                source = self._node(digest)
                source.consumers.append(node)
                if node.platforms - source.platforms:
                    self._spread(source, set(node.platforms))
            node.inputs = tuple(dict.fromkeys(node.inputs + inputs))
            self._graph_version += 1
        # Each update carries the vertex's whole state, and a vertex can open again: after a
        # hit in an imported registry cache it is run again to fetch and extract the cached
        # layers (buildx plain then prints DONE). It stays a cache hit; its time runs from
        # its first start to its last completion.
        started, completed = seconds(v.started), seconds(v.completed)
        if node.started is None or (started is not None and started < node.started):
            node.started = started
        if started is not None:  # buildx's progress keeps one interval per run, merged
            runs = node.intervals
            if runs and runs[-1][0] == started:
                runs[-1][1] = completed
            else:
                runs.append([started, completed])
        node.completed = completed
        node.cached = node.cached or v.cached
        node.error = "\n".join(lines(v.error.splitlines())) if v.error else v.error
        group = v.progress_group.id if v.progress_group else ""
        if node.step is None or (group and group != node.group):
            node.group = group
            self._attach(node)
        self._touch(node)
        return node

    def _attach(self, node: Node) -> None:
        if node.step is not None:  # moving into a progress group
            node.step.members.remove(node)
            node.step.view = None
            if not node.step.members:
                self._steps.pop(node.step.key, None)
        key = f"group:{node.group}" if node.group else node.digest
        step = self._steps.get(key)
        if step is None:
            step = self._steps[key] = StepGroup(key, node.order)
        step.members.append(node)
        node.step = step

    def _spread(self, start: Node, platforms: set[str]) -> None:
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

    def _touch(self, node: Node) -> None:
        step = node.step
        if step is not None:
            step.view = None
            self._changed[step.key] = None

    def _logs(self, logs: Sequence[VertexLog]) -> None:
        """Log chunks in stream order; each run of one vertex's chunks on one stream is kept
        in one piece of work, and the vertex touched once."""
        if self.keep_log_feed:
            self.log_feed.extend(
                (log.vertex, 2 if log.stream == 2 else 1, log.data[-LOG_BYTES:]) for log in logs
            )
            self.log_count += len(logs)
        run: list[bytes] = []
        vertex, stream = "", 0
        for log in logs:
            if log.vertex != vertex or log.stream != stream:
                if run:
                    self._log_run(vertex, stream, run)
                    run = []
                vertex, stream = log.vertex, log.stream
            run.append(log.data)
        if run:
            self._log_run(vertex, stream, run)

    def _log_run(self, vertex: str, stream: int, chunks: list[bytes]) -> None:
        node = self._node(vertex)
        if node.log is None:
            node.log = StepLog()
        stream, log = 2 if stream == 2 else 1, node.log
        one = len(chunks) == 1
        self._log_bytes += log.add(stream, chunks[0]) if one else log.extend(stream, chunks)
        self._logged(node)

    def _logged(self, node: Node) -> None:
        """`node` was written to: it is the last to lose its log when the budget is spent."""
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
        self._touch(node)

    # -- reading ---------------------------------------------------------------------------

    def platforms(self) -> tuple[str, ...]:
        """Requested platforms first, then others in the order they appeared."""
        return tuple(sorted(self._platform_rank, key=self._platform_rank.__getitem__))

    def _view(self, step: StepGroup) -> StepView:
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
        self, steps: list[tuple[StepGroup, StepView]]
    ) -> dict[tuple[str, str], tuple[int, str, str]]:
        if self._ranked_version != self._graph_version:
            self._stage_rank = rank_stages(steps, self._nodes)
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

    def _find(self, key: str) -> StepGroup | None:
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
        return failed_step(self.steps(), self.vertices())

    def recorded_outcome(self) -> Outcome:
        """How the recorded build ended, from what its stream showed (`mab.progress.outcome`)."""
        return recorded_outcome(self.vertices(), self.error_text, list(self.text), self.trailer)

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
