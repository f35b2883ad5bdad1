"""A live build: `docker buildx build --progress=rawjson` through the engine's `BuildRunner`."""

from __future__ import annotations

import time
from dataclasses import replace

from mab.tui.source.base import ChunkSink, RunOutcome

from mab.buildcmd import BuildRequest, buildx_argv
from mab.docker import BuildRunner
from mab.errors import EXIT_INTERRUPTED, MabError


class LiveRun:
    """One `docker buildx build`; its stdout is kept away from the terminal the app draws on."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self._runner: BuildRunner | None = None
        self._cancel_requested = False

    async def run(self, on_chunk: ChunkSink) -> RunOutcome:
        if self._cancel_requested:
            return RunOutcome(EXIT_INTERRUPTED, canceled=True)
        runner = self._runner = BuildRunner(self.argv, on_chunk, stdout="capture")
        try:
            result = await runner.run()
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
    """Runs the same `BuildRequest` each time; `no_cache` adds `--no-cache` for one run."""

    def __init__(self, request: BuildRequest, docker: str = "docker") -> None:
        self.request = request
        self.docker = docker

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
        return LiveRun(buildx_argv(request, self.docker))
