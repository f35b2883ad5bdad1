"""One run of the app: its number, its `mab.run` session (whose model is the only truth the
views read) and, once the app has received it, its result."""

from __future__ import annotations

from mab.progress.model import BuildModel
from mab.run.feed import Feed
from mab.run.result import BuildResult
from mab.run.session import BuildSession
from mab.tui.stats import latest_time


class RunState:
    def __init__(self, number: int, session: BuildSession, *, no_cache: bool = False) -> None:
        self.number = number
        self.session = session
        self.no_cache = no_cache
        self.result: BuildResult | None = None

    @property
    def model(self) -> BuildModel:
        return self.session.model

    @property
    def run(self) -> Feed:
        return self.session.feed

    @property
    def feed_seconds(self) -> float:
        return self.session.feed_seconds

    @property
    def cancel_requested(self) -> bool:
        return self.session.cancel_requested

    @property
    def running(self) -> bool:
        return self.result is None

    @property
    def exit_code(self) -> int | None:
        return self.result.exit_code if self.result is not None else None

    def cancel(self) -> bool:
        """Ask the run to stop; False when it already was asked (or has ended)."""
        if not self.running:
            return False
        return self.session.cancel()

    def close(self, result: BuildResult) -> int:
        self.result = result
        return result.exit_code

    def now(self) -> float | None:
        """The run's clock: the source's, or the latest time the stream showed."""
        now = self.session.now() if self.running else None
        if now is not None:
            return now
        return latest_time(self.model.steps(), self.model.build_wide())
