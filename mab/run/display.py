"""What shows a run: the `Display` every mode implements, and the line-based ones.

A display shows the model while the run goes on (`model_changed`) and the `BuildResult` at the
end (`finished`); it decides nothing. `LinesDisplay` is `mab build`'s plain mode (progress and
the summary table on stdout) and its `--json` mode (the JSON summary alone on stdout, progress
on stderr); the TUI's display lives with the TUI, the CI job's in `mab.run.ci`.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Literal, Protocol, TextIO

from mab.engine.buildcmd import buildx_argv, shown_argv
from mab.progress.model import BuildModel
from mab.progress.plain import PlainPrinter
from mab.run.options import RunOptions
from mab.run.result import BuildResult
from mab.run.stdio import say, silence_stdout

__all__ = ["Display", "LinesDisplay", "LinesMode", "QuietDisplay"]

LinesMode = Literal["plain", "json"]


class Display(Protocol):
    def started(self, model: BuildModel, options: RunOptions) -> None:
        """The run begins; `model` is what it will show."""
        ...

    def model_changed(self) -> None:
        """Events were applied to the model (called from the run's event loop)."""
        ...

    def notice(self, text: str) -> None:
        """Something the run has to say (history, metrics); may come from a worker thread."""
        ...

    def finished(self, result: BuildResult) -> None:
        """The run is over: what to show of it is all in `result`."""
        ...

    def for_export(self, platform: str) -> Display:
        """The display of the cache-only export of `platform` that follows a `--ci` build."""
        ...


@contextlib.contextmanager
def _closed_stdout() -> Iterator[None]:
    """A closed stdout is the run's to handle (it cancels the build); nothing more goes there."""
    try:
        yield
    except BrokenPipeError:
        silence_stdout()
        raise


class QuietDisplay:
    """Shows nothing (a run whose result the caller reads itself)."""

    def started(self, model: BuildModel, options: RunOptions) -> None:
        pass

    def model_changed(self) -> None:
        pass

    def notice(self, text: str) -> None:
        pass

    def finished(self, result: BuildResult) -> None:
        pass

    def for_export(self, platform: str) -> Display:
        return self


class LinesDisplay:
    """`plain`: a line per step change (with `logs`, every step's log lines as buildx's plain
    mode prints them; without, a failed step's last lines), then the summary table, on stdout.
    `json`: the JSON summary alone on stdout; progress on stderr when `progress`."""

    def __init__(self, mode: LinesMode, *, progress: bool = True, logs: bool = False) -> None:
        self.mode = mode
        self.progress = progress
        self.logs = logs and mode == "plain"
        self.printer: PlainPrinter | None = None

    @property
    def _out(self) -> TextIO:
        return sys.stderr if self.mode == "json" else sys.stdout

    def started(self, model: BuildModel, options: RunOptions) -> None:
        out = self._out
        self.printer = PlainPrinter(model, out.write, logs=self.logs, flush=out.flush)
        if options.live:
            say(shown_argv(buildx_argv(options.request, options.docker)))

    def model_changed(self) -> None:
        if self.progress and self.printer is not None:
            with _closed_stdout():
                self.printer.update()

    def notice(self, text: str) -> None:
        say(text)

    def finished(self, result: BuildResult) -> None:
        if result.error:
            sys.stderr.write(result.error + "\n")
            return
        assert self.printer is not None, "started() first"
        with _closed_stdout():
            if self.mode == "json":
                if self.progress:
                    self.printer.update()
                sys.stdout.write(json.dumps(result.summary.to_json(), indent=2) + "\n")
                sys.stdout.flush()
            else:
                self.printer.finish(result.summary)
        for warning in result.warnings:
            say(f"warning: {warning}")
        if result.record_error:
            say(f"warning: {result.record}: recording stopped: {result.record_error}")
        if result.canceled:
            say("build canceled")

    def for_export(self, platform: str) -> Display:
        return QuietDisplay()
