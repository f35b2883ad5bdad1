"""A live build: `docker buildx build --progress=rawjson`, run by a `mab.run` session."""

from __future__ import annotations

from dataclasses import replace

from mab.engine.buildcmd import buildx_argv
from mab.run.feed import LiveFeed
from mab.run.options import RunOptions
from mab.run.session import BuildSession


class LiveSource:
    """Runs the same options each time; `no_cache` adds `--no-cache` for one run. buildx's own
    stdout is kept away from the terminal the app draws on. With `options.record`, each run
    writes its raw stream there (the last run's stays)."""

    def __init__(self, options: RunOptions) -> None:
        self._options = replace(options, buildx_stdout="capture")

    @property
    def options(self) -> RunOptions:
        return self._options

    @property
    def title(self) -> str:
        req = self._options.request
        name = req.tags[0] if req.tags else req.context
        return f"{name} (target {req.target})" if req.target else name

    @property
    def builder(self) -> str:
        return self._options.request.builder or "default builder"

    @property
    def supports_no_cache(self) -> bool:
        return True

    def start(self, *, no_cache: bool = False) -> BuildSession:
        options = self._options
        if no_cache:
            options = replace(options, request=replace(options.request, no_cache=True))
        argv = buildx_argv(options.request, options.docker)
        return BuildSession(options, LiveFeed(argv, stdout="capture", stdin=options.reads_stdin))
