"""Waiting on the app without timing assertions: poll with a generous bound."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from mab.tui.app import MabApp


async def wait_until(pilot: Pilot[int], done: Callable[[], bool], what: str) -> None:
    for _ in range(4000):
        if done():
            return
        await pilot.pause(0.005)
    raise AssertionError(f"gave up waiting for {what}")


async def wait_finished(pilot: Pilot[int], app: MabApp, runs: int = 1) -> None:
    def finished() -> bool:
        state = app.state
        return state is not None and state.number >= runs and not state.running

    await wait_until(pilot, finished, f"run {runs} to finish")
    app.redraw(force=True)
    await pilot.pause()
