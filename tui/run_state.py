"""One run of the session: its handle, decoder and model. The model is the only truth the
views read; bytes go decoder -> model here and nowhere else."""

from __future__ import annotations

import time

from mab.progress.decoder import StreamDecoder
from mab.progress.model import BuildModel
from mab.tui.source import BuildRun, RunOutcome
from mab.tui.stats import latest_time


class RunState:
    def __init__(
        self, number: int, run: BuildRun, platforms: tuple[str, ...], *, no_cache: bool = False
    ) -> None:
        self.number = number
        self.run = run
        self.no_cache = no_cache
        self.decoder = StreamDecoder()
        # A single-platform stream names no platform: the source may know the builder's.
        default = getattr(run, "default_platform", None)
        self.model = BuildModel(platforms, default_platform=default)
        self.cancel_requested = False
        self.feed_seconds = 0.0  # time spent decoding and applying: the engine's share
        self.outcome: RunOutcome | None = None
        self.exit_code: int | None = None

    @property
    def running(self) -> bool:
        return self.outcome is None

    def feed(self, chunk: bytes) -> None:
        started = time.perf_counter()
        apply = self.model.apply
        for event in self.decoder.feed(chunk):
            apply(event)
        self.feed_seconds += time.perf_counter() - started

    def cancel(self) -> bool:
        """Ask the run to stop; False when it already was asked (or has ended)."""
        if not self.running or self.cancel_requested:
            return False
        self.cancel_requested = True
        self.run.cancel()
        return True

    def close(self, outcome: RunOutcome) -> int:
        """The run ended: flush the decoder, settle the model; the run's exit code."""
        for event in self.decoder.close():
            self.model.apply(event)
        if outcome.exit_code is None:  # a recording: what its stream showed
            recorded = self.model.recorded_outcome()
            code = recorded.exit_code
            self.model.finish(code, outcome=recorded)
        else:
            code = outcome.exit_code
            self.model.finish(code, outcome.canceled or (self.cancel_requested and code != 0))
        self.outcome = outcome
        self.exit_code = code
        return code

    def now(self) -> float | None:
        """The run's clock: the source's, or the latest time the stream showed."""
        now = self.run.now() if self.running else None
        if now is not None:
            return now
        return latest_time(self.model.steps(), self.model.build_wide())
