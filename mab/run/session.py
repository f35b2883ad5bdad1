"""`BuildSession.run(display) -> BuildResult`: one build run, the same for every display.

It starts the feed (buildx, or a recording), owns cancelling and the signals that end mab
(INT, TERM, HUP, PIPE: each cancels the build before mab goes), feeds the bytes through the
decoder into the model and tells the display the model changed. Then it finishes, in one order
for every display:

1. the outcome (buildx's exit code, or the recording's own);
2. per-platform cache exports that still have to run (`--ci`), then every registry cache export
   read back and judged (`mab.progress.cacheverify`);
3. each miss explained and the build stored in the history (`mab.history.session`);
4. the metrics written and pushed (`mab.metrics.outputs`);
5. the build record pushed beside the caches written, when the options say so;
6. the recording's trailer.

The display only shows: the model while it runs, the `BuildResult` at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from types import FrameType
from typing import Any

from mab.engine.buildcmd import buildx_argv
from mab.errors import EXIT_INTERRUPTED, MabError
from mab.history.remote import registry_refs
from mab.history.session import BuildHistory
from mab.metrics.outputs import emit_build
from mab.progress.cacheverify import verified
from mab.progress.decoder import StreamDecoder
from mab.progress.model import BuildModel, BuildStatus
from mab.progress.outcome import Outcome
from mab.progress.recording import Recording
from mab.progress.summary import CacheRefs, Summary
from mab.run.display import Display
from mab.run.feed import Feed, FeedEnd, LiveFeed
from mab.run.options import RunOptions
from mab.run.result import ENDING_SIGNALS, BuildResult, exit_code_of

__all__ = ["BuildSession", "live_session", "run_live"]

Handler = Callable[[int, FrameType | None], Any] | int | None
CLOSED_STDOUT = "stdout was closed, so the build was canceled"


class BuildSession:
    """One run of `options` over `feed`; `model` is the only truth displays read."""

    def __init__(self, options: RunOptions, feed: Feed) -> None:
        self.options = options
        self.feed = feed
        self.decoder = StreamDecoder()
        self.model = BuildModel(options.platforms, default_platform=options.default_platform)
        self.model.cache_to = options.request.cache_exports
        self.feed_seconds = 0.0  # time spent decoding and applying: the engine's share
        self.cancel_requested = False
        self.ended_by: int | None = None
        self.result: BuildResult | None = None
        self._display: Display | None = None
        self._display_gone = False
        self._recording = Recording(None, None)
        self._record_error: str | None = None
        self._notices: list[str] = []

    @property
    def running(self) -> bool:
        return self.result is None

    # -- control ---------------------------------------------------------------------------

    def cancel(self) -> bool:
        """Ask the build to stop; False when it already was asked (the feed is told again,
        which insists) or the run is over."""
        if self.result is not None:
            return False
        first = not self.cancel_requested
        self.cancel_requested = True
        self.feed.cancel()
        return first

    def now(self) -> float | None:
        return self.feed.now() if self.running else None

    def _on_signal(self, number: int) -> None:
        if number != signal.SIGINT or self.ended_by is None:
            self.ended_by = number
        self.cancel()

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        """While the build runs, a signal that would end mab cancels the build first (buildx
        runs in its own session: closing the terminal reaches mab alone)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        installed: list[tuple[signal.Signals, Handler]] = []
        for number in ENDING_SIGNALS:
            before = signal.getsignal(number)
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                loop.add_signal_handler(number, self._on_signal, int(number))
                installed.append((number, before))
        try:
            yield
        finally:
            for number, before in installed:
                loop.remove_signal_handler(number)
                with contextlib.suppress(ValueError, TypeError, OSError):
                    signal.signal(number, before)

    def notice(self, text: str) -> None:
        self._notices.append(text)
        if self._display is not None and not self._display_gone:
            with contextlib.suppress(OSError):
                self._display.notice(text)

    # -- the run ---------------------------------------------------------------------------

    async def run(self, display: Display) -> BuildResult:
        self._display = display
        display.started(self.model, self.options)
        history: BuildHistory | None = None
        try:
            self._recording = Recording.open(self.options.record, self.options.platforms)
            if self.options.history is not None and self.options.live:
                history = await asyncio.to_thread(self._start_history)
            with self._signals():
                end = await self.feed.run(self._on_chunk)
        except MabError as exc:
            self._recording.close()
            return self._end(display, self._never_ran(exc))
        self._settle(end)
        if self.options.after_exports and self.model.status is BuildStatus.SUCCEEDED:
            await self._export_caches(display)
        result = await asyncio.to_thread(self._finish, end, history)
        return self._end(display, result)

    def _end(self, display: Display, result: BuildResult) -> BuildResult:
        if not self._display_gone:
            try:
                display.finished(result)
            except OSError:
                self._output_closed()
                code = exit_code_of(0, canceled=True, ended_by=self.ended_by, error=0)
                result = replace(result, exit_code=code, ended_by=self.ended_by)
        self.result = result
        return result

    async def _export_caches(self, display: Display) -> None:
        """2. One cache-only build per platform (its layers are in the builder already)."""
        for platform, spec in self.options.after_exports:
            request = replace(
                self.options.request,
                platforms=(platform,),
                tags=(),
                push=False,
                load=False,
                cache_to=spec,
                extra_args=("--output", "type=cacheonly"),
            )
            options = replace(
                RunOptions(request=request, live=True, docker=self.options.docker),
                buildx_stdout=self.options.buildx_stdout,
            )
            await live_session(options).run(display.for_export(platform))

    def _on_chunk(self, chunk: bytes) -> None:
        file = self._recording.file
        if file is not None:
            try:
                file.write(chunk)
            except (OSError, ValueError) as exc:  # a full disk: keep building
                self._recording.file = None
                self._record_error = str(exc) or type(exc).__name__
        started = time.perf_counter()
        apply = self.model.apply
        for event in self.decoder.feed(chunk):
            apply(event)
        self.feed_seconds += time.perf_counter() - started
        if self._display is None or self._display_gone:
            return
        try:
            self._display.model_changed()
        except OSError:  # `mab build | head`: nobody reads any more
            self._output_closed()

    def _output_closed(self) -> None:
        """The display's output went away: as a SIGPIPE would, it cancels the build."""
        self._display_gone = True
        self.ended_by = self.ended_by or signal.SIGPIPE
        self._notices.append(CLOSED_STDOUT)
        if self._display is not None:
            with contextlib.suppress(OSError):
                self._display.notice(CLOSED_STDOUT)
        self.cancel()

    def _start_history(self) -> BuildHistory:
        """Hash the COPY/ADD sources and fetch the records beside the caches read."""
        assert self.options.history is not None
        h = self.options.history
        return BuildHistory.start(
            self.options.request,
            h.image,
            builder=h.builder,
            driver=h.driver,
            history=h.path,
            notice=self.notice,
        )

    def _settle(self, end: FeedEnd) -> None:
        """1. The outcome: the decoder's last events, then the build's exit code or, for a
        recording, what its stream showed."""
        for event in self.decoder.close():
            self.model.apply(event)
        if end.exit_code is None and not end.canceled:
            self.model.finish(0, outcome=self.model.recorded_outcome())
        else:
            code = EXIT_INTERRUPTED if end.exit_code is None else end.exit_code
            canceled = end.canceled or (self.cancel_requested and code != 0)
            self.model.finish(code, canceled)

    def _finish(self, end: FeedEnd, history: BuildHistory | None) -> BuildResult:
        options, model = self.options, self.model
        summary = Summary.from_model(model, duration_s=end.duration)
        if options.live:
            summary = replace(summary, caches=cache_refs(options))
        if options.live:  # 2. what the exports wrote, read back
            summary = verified(summary, model)
        if history is not None:  # 3. why, and the history row
            history.finish(model, summary.duration_s)
            summary = history.annotate(summary)
        if options.metrics.wanted:  # 4.
            image = options.history.image if options.history else options.image
            emit_build(options.metrics, image or options.image, summary, model, self.notice)
        if history is not None and options.publish_record:  # 5.
            history.publish(model, options.cache_writes)
        canceled = model.status is BuildStatus.CANCELED
        code = exit_code_of(
            model.exit_code or 0, canceled=canceled, ended_by=self.ended_by, error=0
        )
        if self._recording.file is not None:  # 6.
            self._recording.close(Outcome(model.status, code))
        else:
            self._recording.close()
        return BuildResult(
            summary=summary,
            exit_code=code,
            canceled=canceled or self.ended_by is not None,
            ended_by=self.ended_by,
            whys=history.whys if history is not None else {},
            history_id=history.build_id if history is not None else None,
            notices=tuple(self._notices),
            record_error=self._record_error,
            record=str(options.record) if options.record else None,
        )

    def _never_ran(self, exc: MabError) -> BuildResult:
        self.model.finish(exc.exit_code)
        return BuildResult(
            summary=Summary.from_model(self.model),
            exit_code=exit_code_of(
                exc.exit_code, canceled=False, ended_by=None, error=exc.exit_code
            ),
            error=exc.render(),
            notices=tuple(self._notices),
        )


def cache_refs(options: RunOptions) -> CacheRefs:
    """The caches read and written, a registry cache by its ref, any other by its spec."""

    def shown(spec: str) -> str:
        refs = registry_refs((spec,))
        return refs[0] if refs else spec

    return CacheRefs(
        tuple(shown(s) for s in options.cache_reads), tuple(shown(s) for s in options.cache_writes)
    )


def live_session(options: RunOptions) -> BuildSession:
    """A session that runs `docker buildx build` for `options.request`."""
    argv = buildx_argv(options.request, options.docker)
    feed = LiveFeed(argv, stdout=options.buildx_stdout, stdin=options.reads_stdin)
    return BuildSession(options, feed)


def run_live(options: RunOptions, display: Display) -> BuildResult:
    """Run the build to its end in this thread (plain, JSON, `--ci`)."""
    return asyncio.run(live_session(options).run(display))
