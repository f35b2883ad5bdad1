"""The `mab build` / `mab replay` app: one column of steps per platform, the build-wide work,
the selected step's details, and a summary at the end.

Each run is a `mab.run` session the source starts; a worker runs it with the app as its
display (`mab.tui.display`): `ModelChanged` messages move the reactive `model_version`, and
`RunFinished` brings the run's whole `BuildResult` (the same one plain, JSON and `--ci` show).
A timer at `REDRAW_HZ` redraws from the model when `model_version` moved (or a timer on screen
ticks), so the redraw rate does not follow the event rate. `animate=False` freezes spinners
and redraws only on change, for deterministic snapshots.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.reactive import var
from textual.widgets import Footer

from mab.errors import EXIT_INTERRUPTED
from mab.progress.model import BuildModel, BuildStatus, StepDetail, StepState, StepView
from mab.progress.summary import Summary
from mab.tui.display import TuiDisplay
from mab.tui.export import default_export_dir, export_summary
from mab.tui.farewell import run_farewell
from mab.tui.messages import ModelChanged, RunFinished, RunNotice
from mab.tui.render import ENDED
from mab.tui.run_state import RunState
from mab.tui.screens import ConfirmScreen, HelpScreen, LogScreen
from mab.tui.screens.history import HistoryScreen
from mab.tui.source import BuildSource
from mab.tui.stats import (
    RunRecord,
    aligned,
    column_platforms,
    compare_runs,
    platform_name,
    platform_stats,
)
from mab.tui.widgets import (
    BuildHeader,
    BuildWide,
    PlatformColumns,
    ProblemPanel,
    StepDetails,
    StepList,
    SummaryPanel,
)
from mab.tui.widgets.details import NO_STEP, PICK
from mab.tui.widgets.header import header_info
from mab.tui.widgets.notice import NoticeLine
from mab.tui.widgets.problem import build_problem

REDRAW_HZ = 15
DRAW_SHARE = 4  # after a redraw that took t seconds, the next one waits at least 4t
HOT = 0.3  # a source busy this share of the time feeds flat out (a replay at speed 0)


class MabApp(App[int]):
    CSS_PATH = Path(__file__).parent / "app.tcss"
    TITLE = "mab"
    ENABLE_COMMAND_PALETTE = False  # every action has its key; the footer keeps its room
    model_version: var[int] = var(-1)  # the shown run's model, as its last ModelChanged said
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "rerun", "Rerun"),
        Binding("R", "rerun_no_cache", "No cache", key_display="R"),
        Binding("c", "cancel", "Cancel"),
        Binding("ctrl+c", "interrupt", "Cancel/quit", show=False, priority=True),
        Binding("p", "cycle_platforms", "Platforms"),
        Binding("l", "logs", "Log"),
        Binding("e", "export", "Export"),
        Binding("h", "history", "History"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        source: BuildSource,
        *,
        animate: bool = True,
        export_dir: Path | None = None,
        autostart: bool = True,
    ) -> None:
        super().__init__()
        self.source = source
        self.animated = animate
        self.export_dir = export_dir or default_export_dir()
        self.autostart = autostart
        self.state: RunState | None = None
        self.records: list[RunRecord] = []
        self.previous: RunRecord | None = None
        self.selected: str | None = None
        self.frame = 0
        self._drawn = -1
        self._next_draw = 0.0
        self._drawn_at = (0.0, 0.0)  # (perf_counter, the run's feed seconds) at the last draw
        self.redraws = 0
        self.run_display = TuiDisplay(self, 0)  # the running session's; replaced by each run

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield BuildHeader(id="header")
        yield PlatformColumns(id="columns")
        yield ProblemPanel(id="problem")
        yield NoticeLine(id="notice")
        with Horizontal(id="lower"):
            yield StepDetails(id="details")
            with Vertical(id="side"):
                yield BuildWide(id="build-wide")
                yield SummaryPanel(id="summary")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(SummaryPanel).display = False
        self.query_one(ProblemPanel).display = False
        self.query_one(NoticeLine).display = False
        self.set_interval(1 / REDRAW_HZ, self._tick)
        if self.autostart:
            self.start_run()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """On the notice line, not in a toast over the summary (kept in `_notifications`
        too, as Textual does)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)
        notice = self.query(NoticeLine)
        if notice:
            notice.first().say(message, title=title, severity=severity, timeout=timeout or 5.0)

    def run(self, *args: Any, **kwargs: Any) -> int | None:
        """Run the app; once it has left the screen, print the last run's summary to stdout,
        so something stays in the terminal (as buildx's own output does)."""
        code = super().run(*args, **kwargs)
        text = self.farewell()
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
        return code

    def farewell(self) -> str:
        """The last run's plain summary ("" when no run started)."""
        state = self.state
        if state is None:
            return ""
        return run_farewell(state, self.source.title, shutil.get_terminal_size().columns)

    # -- runs ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.state is not None and self.state.running

    def start_run(self, *, no_cache: bool = False) -> RunState:
        if self.state is not None and self.state.result is not None:
            self.previous = self.records[-1] if self.records else None
        number = self.state.number + 1 if self.state else 1
        session = self.source.start(no_cache=no_cache)
        state = self.state = RunState(number, session, no_cache=no_cache)
        self.run_display = TuiDisplay(self, number)
        self.query_one(PlatformColumns).reset()
        self.query_one(PlatformColumns).display = True
        self.query_one(ProblemPanel).display = False
        self.query_one(SummaryPanel).display = False
        self.query_one(BuildWide).display = True
        self._drawn = -1
        self._drawn_at = (time.perf_counter(), 0.0)
        self._run(state)
        self.refresh_bindings()
        self.redraw(force=True)
        return state

    @work(exclusive=True, group="build")
    async def _run(self, state: RunState) -> None:
        result = await state.session.run(self.run_display)
        self.post_message(RunFinished(state.number, result))

    def on_model_changed(self, message: ModelChanged) -> None:
        state = self.state
        if state is None or state.number != message.number:
            return
        self.run_display.taken()
        self.model_version = state.model.version

    def on_run_notice(self, message: RunNotice) -> None:
        if self.state is not None and self.state.number == message.number:
            self.notify(message.text, title="history")

    def on_run_finished(self, message: RunFinished) -> None:
        state = self.state
        if state is None or state.number != message.number:
            return
        result = message.result
        code = state.close(result)
        if result.ended_by == signal.SIGHUP:
            # The terminal is gone, the build canceled and recorded: nothing is left to draw
            # on, and restoring a terminal that is gone can block for ever.
            os._exit(code)
        if result.ended_by is not None and result.ended_by != signal.SIGINT:
            self.exit(code)  # mab was told to end: the build is over
            return
        self.refresh_bindings()
        model = state.model
        self.query_one(StepDetails).whys = result.whys
        summary = result.summary
        record = RunRecord(
            state.number, state.no_cache, summary.status, summary.duration_s, platform_stats(model)
        )
        self.records.append(record)
        if self.previous is not None:
            self.notify(compare_runs(self.previous, record), title=f"run {record.number}")
        self.query_one(SummaryPanel).show(summary, record.platforms)
        self.query_one(BuildWide).display = False
        self.query_one(SummaryPanel).display = True
        failed = model.failed_step()
        if failed is not None:
            self.select_step(failed)
        self.redraw(force=True)
        if not model.steps() and (result.error or model.status is BuildStatus.FAILED):
            # nothing ran (a Dockerfile that does not parse, no docker): say so where the
            # steps would be, and keep it there
            self.query_one(ProblemPanel).show(build_problem(model.text, result.error))
            self.query_one(ProblemPanel).display = True
            self.query_one(PlatformColumns).display = False
        elif result.error:
            self.notify(result.error, title="build did not run", severity="error")
        elif model.status is BuildStatus.FAILED and failed is None:
            said = next((line for line in model.error_text if line.startswith("ERROR")), "")
            self.notify(said or f"the build failed (exit code {code})", severity="error")

    def select_step(self, view: StepView) -> None:
        """Select a step in the first visible column that lists it; show its details."""
        self.selected = view.key
        self.query_one(StepDetails).display = True
        self.redraw(force=True)
        for step_list in self.query_one(PlatformColumns).shown_lists():
            if step_list.select_key(view.key):
                step_list.focus()
                break

    # -- drawing ---------------------------------------------------------------------------

    def _tick(self) -> None:
        state = self.state
        if state is None:
            return
        started = time.perf_counter()
        if started < self._next_draw:
            return  # the last redraw was costly: keep redrawing to a share of the time
        wall = started - self._drawn_at[0]
        fed = state.feed_seconds - self._drawn_at[1]
        if fed > HOT * wall and wall - fed > fed:
            return  # a source feeding flat out: the view takes no more time than the engine
        if self.animated and state.running:
            self.frame += 1
            self.redraw(force=True)
        else:
            self.redraw()
        cost = time.perf_counter() - started
        self._next_draw = started + DRAW_SHARE * cost
        self._drawn_at = (started, state.feed_seconds)

    def redraw(self, *, force: bool = False) -> None:
        state = self.state
        if state is None:
            return
        model = state.model
        if not force and self.model_version == self._drawn:
            return
        self._drawn = self.model_version
        self.redraws += 1
        now = state.now()
        frame = (self.frame if self.animated else 0) if state.running else ENDED
        platforms = column_platforms(model)
        columns = list(zip(platforms, aligned(model.steps(), platforms), strict=True))
        platform_columns = self.query_one(PlatformColumns)
        platform_columns.show(columns, now, frame)
        focused = self.focused
        stale = focused is None or not focused.is_attached
        if stale and (shown := platform_columns.shown_lists()):
            shown[0].focus()  # a rerun replaced the lists: keep the keys working
        header = header_info(state, now, self.previous, self.source.title, self.source.builder)
        self.query_one(BuildHeader).show(header)
        build_wide = self.query_one(BuildWide)
        if build_wide.display:
            build_wide.show(model.build_wide(), now, frame)
        details = self.query_one(StepDetails)
        if details.display:
            nothing = not state.running and not model.steps()
            details.show(self._detail(state), now, empty=NO_STEP if nothing else PICK)

    def _detail(self, state: RunState) -> StepDetail | None:
        model = state.model
        if self.selected is not None:
            return model.step(self.selected)
        running = [v for v in model.steps() if v.state is StepState.RUNNING]
        if running:  # follow the newest running step until one is chosen
            return model.step(max(running, key=lambda v: v.started or 0.0).key)
        failed = model.failed_step()
        return model.step(failed.key) if failed else None

    # -- selection -------------------------------------------------------------------------

    @on(StepList.Highlighted)
    def _highlighted(self, event: StepList.Highlighted) -> None:
        self.selected = event.key
        self.redraw(force=True)

    # -- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers what applies now: cancel while a build runs, a rerun without the
        cache only for a live build (a replay cannot)."""
        if action == "cancel":
            return self.running
        if action == "rerun_no_cache":
            return self.source.supports_no_cache
        return True

    def action_rerun(self) -> None:
        if self.running:
            self.notify("a build is running: cancel it first (c)", severity="warning")
            return
        self.start_run()

    def action_rerun_no_cache(self) -> None:
        if self.running:
            self.notify("a build is running: cancel it first (c)", severity="warning")
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.start_run(no_cache=True)

        self.push_screen(ConfirmScreen("Rerun the whole build without the cache?"), answer)

    def action_cancel(self) -> None:
        state = self.state  # check_action offers this only while a build runs
        if state is None:
            return
        if state.cancel():
            self.notify("canceling the build… (ctrl+c again quits)")
            self.redraw(force=True)
        else:
            self.notify("already canceling (ctrl+c again quits)")

    async def action_interrupt(self) -> None:
        state = self.state
        if state is not None and state.running and not state.cancel_requested:
            self.action_cancel()
        else:
            self._quit_now()

    async def action_quit(self) -> None:
        """Quit; a build still running is canceled, after asking (`q` again says yes)."""
        state = self.state
        if state is not None and state.running and not state.cancel_requested:

            def answer(yes: bool | None) -> None:
                if yes:
                    self._quit_now()

            question = "A build is running. Cancel it and quit?"
            self.push_screen(ConfirmScreen(question, also_yes="q"), answer)
            return
        self._quit_now()

    def _quit_now(self) -> None:
        state = self.state
        if state is None:
            self.exit(EXIT_INTERRUPTED)
            return
        if state.running:
            state.cancel()
            self.exit(EXIT_INTERRUPTED)
            return
        if state.model.status is BuildStatus.CANCELED:
            self.exit(EXIT_INTERRUPTED)
        else:
            self.exit(state.exit_code if state.exit_code is not None else 0)

    def action_cycle_platforms(self) -> None:
        platform_columns = self.query_one(PlatformColumns)
        shown = platform_columns.cycle()
        focused = platform_columns.focused_list()
        if (focused is None or not focused.display) and (lists := platform_columns.shown_lists()):
            lists[0].focus()
        self.notify(f"showing {platform_name(shown) if shown is not None else 'all platforms'}")

    def action_logs(self) -> None:
        """The full-screen log of the step the details pane shows (none: the whole build);
        with no step chosen, it follows the one the details pane follows."""
        self.push_screen(LogScreen(self._model, self._shown_key(), follow=self._shown_key))

    def _model(self) -> BuildModel | None:
        return self.state.model if self.state is not None else None

    def _shown_key(self) -> str | None:
        state = self.state
        shown = self._detail(state) if state is not None else None
        return shown.step.key if shown is not None else None

    def action_export(self) -> None:
        state = self.state
        if state is None:
            self.notify("nothing to export yet", severity="warning")
            return
        summary = state.result.summary if state.result else Summary.from_model(state.model)
        try:
            paths = export_summary(summary, self.export_dir, self.source.title, state.number)
        except OSError as exc:
            self.notify(f"export failed: {exc}", severity="error")
            return
        self.notify("wrote " + " and ".join(str(p) for p in paths), title="summary exported")

    def action_history(self) -> None:
        options = self.source.options
        path = options.history.path if options.history is not None else None
        self.push_screen(HistoryScreen(options.image, path))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())
