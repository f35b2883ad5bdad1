"""Plain progress lines for output that is not a terminal (`mab build | tee build.log`).

One line when a step starts and one when it ends, prefixed by its platforms:

    [linux/arm64] deps 3/4 RUN ./install.sh CACHED
    [linux/amd64] deps 4/4 RUN ./install.sh DONE 4.2s

The stream's own text (buildx's `ERROR:` block) is passed through; step logs only on request,
and the tail of a failed step's log always. Logs are plain text: colours and every other
terminal control sequence a step wrote are dropped (`mab.progress.ansi`), so a log file or a
CI page reads the same as the terminal, and nothing a step prints can clear or move it.
Call `update()` after applying events to the model; `finish(summary)` prints the summary.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable
from typing import TypeVar

from mab.progress.ansi import clean
from mab.progress.model import BuildModel, StepState, StepView
from mab.progress.summary import Summary, render_table

__all__ = ["PlainPrinter", "step_line"]

INSTRUCTION_CHARS = 100
FAILED_LOG_LINES = 20
LOG_LINE_BYTES = 4096

T = TypeVar("T")


def _latest(items: deque[T], count: int) -> list[T]:
    """The last `count` items of a bounded deque (all it has if it dropped some)."""
    return list(items)[-count:] if count < len(items) else list(items)


def _short(text: str, limit: int = INSTRUCTION_CHARS) -> str:
    line = " ".join(text.split("\n", 1)[0].split())
    if len(line) > limit or "\n" in text:
        return line[: limit - 1].rstrip() + "…"
    return line


def step_label(view: StepView) -> str:
    """`[linux/arm64] deps 3/4 RUN ./install.sh`, or the vertex's own name."""
    if not view.index:
        return _short(view.name)
    where = f"[{', '.join(view.platforms)}] " if view.platforms else ""
    stage = f"{view.stage} " if view.stage else ""
    return f"{where}{stage}{view.index}/{view.total} {_short(view.instruction)}"


_WORDS = {
    StepState.RUNNING: "RUNNING",
    StepState.CACHED: "CACHED",
    StepState.ERROR: "ERROR",
    StepState.CANCELED: "CANCELED",
}


def step_line(view: StepView) -> str:
    if view.state is StepState.DONE:
        duration = view.duration_s
        word = "DONE" if duration is None else f"DONE {duration:.1f}s"
    else:
        word = _WORDS.get(view.state, str(view.state).upper())
    line = f"{step_label(view)} {word}"
    if view.state is StepState.ERROR and view.error:
        line += f": {_short(view.error, 300)}"
    return line


class PlainPrinter:
    """Prints what changed in a `BuildModel` as plain lines, flushed one by one."""

    def __init__(
        self,
        model: BuildModel,
        write: Callable[[str], object] | None = None,
        *,
        logs: bool = False,
        flush: Callable[[], object] | None = None,
    ) -> None:
        self.model = model
        self._write = write or sys.stdout.write
        self._flush = flush or (sys.stdout.flush if write is None else (lambda: None))
        self.logs = logs
        model.keep_log_feed = model.keep_log_feed or logs
        self._printed: dict[str, StepState] = {}
        self._partial: dict[tuple[str, int], bytes] = {}
        self._text_seen = 0
        self._logs_seen = 0

    def _line(self, text: str) -> None:
        self._write(text + "\n")

    def update(self) -> None:
        """Print the lines for what changed since the last call."""
        model = self.model
        wrote = False
        if model.text_count != self._text_seen:
            for text in _latest(model.text, model.text_count - self._text_seen):
                self._line(text)
            self._text_seen = model.text_count
            wrote = True
        if self.logs and model.log_count != self._logs_seen:
            for digest, stream, data in _latest(model.log_feed, model.log_count - self._logs_seen):
                self._log(digest, stream, data)
            self._logs_seen = model.log_count
            wrote = True
        for key in model.changed_steps():
            view = model.view(key)
            if view is None or view.state is StepState.PENDING:
                continue
            if self._printed.get(key) is view.state:
                continue
            self._printed[key] = view.state
            self._line(step_line(view))
            if view.state is StepState.ERROR and not self.logs:
                detail = model.step(key)
                for text in detail.log.text[-FAILED_LOG_LINES:] if detail else ():
                    self._line(f"  | {clean(text)}")  # plain: no colour either
            wrote = True
        if wrote:
            self._flush()

    def _log(self, digest: str, stream: int, data: bytes) -> None:
        parts = (self._partial.pop((digest, stream), b"") + data).split(b"\n")
        rest = parts.pop()
        if rest:
            self._partial[digest, stream] = rest[-LOG_LINE_BYTES:]
        if not parts:
            return
        view = self.model.view(digest)
        prefix = step_label(view) if view is not None else digest[:19]
        prefix = prefix if len(prefix) <= 60 else prefix[:59] + "…"
        for raw in parts:
            text = clean(raw.decode("utf-8", "replace"))
            self._line(f"{prefix} | {text[:LOG_LINE_BYTES]}")

    def finish(self, summary: Summary) -> None:
        """The build is over: print what is left, then the summary table."""
        self.update()
        self._write("\n" + render_table(summary))
        self._flush()
