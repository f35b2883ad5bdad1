"""A live build: `docker buildx build --progress=rawjson` through the engine's `BuildRunner`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from mab.engine.buildcmd import BuildRequest, buildx_argv
from mab.engine.docker import BuildRunner
from mab.errors import EXIT_INTERRUPTED, MabError, UserError
from mab.tui.source.base import ChunkSink, RunOutcome

# Starts the build history of one run (given where its notices go); see `run_build_app`.
HistoryStart = Callable[[BuildRequest, Callable[[str], None]], Any]
RunHistoryStart = Callable[[Callable[[str], None]], Any]


class LiveRun:
    """One `docker buildx build`; its stdout is kept away from the terminal the app draws on."""

    def __init__(
        self, argv: list[str], record: Path | None = None, history: RunHistoryStart | None = None
    ) -> None:
        self.argv = argv
        self.record = record
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
            with contextlib.ExitStack() as stack:
                sink = stack.enter_context(self._open_record()) if self.record else None
                runner = self._runner = BuildRunner(self.argv, on_chunk, sink, stdout="capture")
                result = await runner.run()
        except MabError as exc:
            return RunOutcome(exc.exit_code, error=exc.render())
        return RunOutcome(result.exit_code, canceled=result.canceled)

    def _open_record(self) -> BinaryIO:
        assert self.record is not None
        try:
            return self.record.open("wb")
        except OSError as exc:
            raise UserError(
                f"{self.record}: cannot write the recording: {exc.strerror or exc}"
            ) from None

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
        return LiveRun(buildx_argv(request, self.docker), self.record, history)
