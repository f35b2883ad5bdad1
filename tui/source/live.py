"""A live build: `docker buildx build --progress=rawjson` through the engine's `BuildRunner`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mab.engine.buildcmd import BuildRequest, buildx_argv
from mab.engine.docker import BuildRunner
from mab.errors import EXIT_INTERRUPTED, MabError
from mab.progress.entry import HistoryStart
from mab.progress.outcome import live_outcome
from mab.progress.recording import Recording
from mab.tui.source.base import ChunkSink, RunOutcome

# Starts the build history of one run (given where its notices go); see `run_build_app`.
RunHistoryStart = Callable[[Callable[[str], None]], Any]


class LiveRun:
    """One `docker buildx build`; its stdout is kept away from the terminal the app draws on."""

    def __init__(
        self,
        argv: list[str],
        record: Path | None = None,
        history: RunHistoryStart | None = None,
        platforms: tuple[str, ...] = (),
    ) -> None:
        self.argv = argv
        self.record = record
        self.platforms = platforms  # named in the recording's header
        self._runner: BuildRunner | None = None
        self._cancel_requested = False
        self._history_start = history
        self.history: Any = None  # the run's `mab.history.session.BuildHistory`, once started
        self.notices: list[str] = []

    async def run(self, on_chunk: ChunkSink) -> RunOutcome:
        if self._cancel_requested:
            return RunOutcome(EXIT_INTERRUPTED, canceled=True)
        if self._history_start is not None:  # hashes sources, reads the cache's record
            self.history = await asyncio.to_thread(self._history_start, self.notices.append)
        try:
            with Recording.open(self.record, self.platforms) as recording:
                runner = BuildRunner(self.argv, on_chunk, recording.file, stdout="capture")
                self._runner = runner
                result = await runner.run()
                recording.close(live_outcome(result.exit_code, result.canceled))
        except MabError as exc:
            return RunOutcome(exc.exit_code, error=exc.render())
        return RunOutcome(result.exit_code, canceled=result.canceled)

    def cancel(self) -> None:
        self._cancel_requested = True
        if self._runner is not None:
            self._runner.cancel()

    def now(self) -> float | None:
        return time.time()


class LiveSource:
    """Runs the same `BuildRequest` each time; `no_cache` adds `--no-cache` for one run.
    With `record`, each run writes its raw stream there (the last run's stays)."""

    def __init__(
        self,
        request: BuildRequest,
        *,
        record: Path | None = None,
        docker: str = "docker",
        history: HistoryStart | None = None,
        image: str | None = None,
    ) -> None:
        self.request = request
        self.record = record
        self.docker = docker
        self.history = history
        self.image = image  # whose build history the history screen shows

    @property
    def title(self) -> str:
        req = self.request
        name = req.tags[0] if req.tags else req.context
        return f"{name} (target {req.target})" if req.target else name

    @property
    def builder(self) -> str:
        return self.request.builder or "default builder"

    @property
    def platforms(self) -> tuple[str, ...]:
        return self.request.platforms

    @property
    def supports_no_cache(self) -> bool:
        return True

    def start(self, *, no_cache: bool = False) -> LiveRun:
        request = replace(self.request, no_cache=True) if no_cache else self.request
        start = self.history
        history: RunHistoryStart | None = None
        if start is not None:
            history = lambda notice: start(request, notice)  # noqa: E731
        argv = buildx_argv(request, self.docker)
        return LiveRun(argv, self.record, history, request.platforms)
