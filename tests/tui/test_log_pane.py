"""The full log's pane: long lines wrapped to the width (never cut, never scrolled sideways),
search and resize on wrapped rows."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from mab.tui.widgets.log_pane import LogPane


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LogPane(id="log-pane")


def rows(pane: LogPane) -> list[str]:
    return [pane.render_line(y).text for y in range(pane.size.height)]


async def test_a_long_line_wraps_to_the_width_and_nothing_is_cut() -> None:
    error = "error: " + "x" * 30 + " exit code: 1"
    app = PaneApp()
    async with app.run_test(size=(20, 6)) as pilot:
        pane = app.query_one(LogPane)
        pane.set_lines([Text("first"), Text(error), Text("last")])
        await pilot.pause()
        shown = rows(pane)
        assert shown[0].rstrip() == "first"
        assert "".join(r for r in shown[1:4]) == error.ljust(60)[:60]  # three rows of 20
        assert shown[4].rstrip() == "last"
        assert pane.virtual_size.width == 20  # nothing to scroll sideways
        assert "exit code: 1" in "".join(shown)


async def test_wide_characters_are_never_split_across_rows() -> None:
    app = PaneApp()
    async with app.run_test(size=(5, 4)) as pilot:
        pane = app.query_one(LogPane)
        pane.set_lines([Text("ab漢字かな")])  # 2 cells, then four of 2
        await pilot.pause()
        assert [r.rstrip() for r in rows(pane)[:3]] == ["ab漢", "字か", "な"]


async def test_search_scrolls_to_the_first_row_of_a_wrapped_match_and_resize_keeps_it() -> None:
    lines = [Text(f"line {n} " + "-" * 40) for n in range(30)]
    lines[20] = Text("line 20 " + "-" * 40 + " needle")
    app = PaneApp()
    async with app.run_test(size=(20, 5)) as pilot:
        pane = app.query_one(LogPane)
        pane.set_lines(lines)
        await pilot.pause()
        pane.scroll_home(animate=False)
        await pilot.pause()
        assert pane.search("needle") == 1 and pane.current == 20
        await pilot.pause()
        assert any(r.startswith("line 20") for r in rows(pane))
        await pilot.resize_terminal(40, 5)
        await pilot.pause()
        assert pane.virtual_size.width == pane.scrollable_content_region.width  # beside the bar
        assert any(r.startswith("line 20") for r in rows(pane))


async def test_a_wrapped_line_keeps_every_character_beside_the_scrollbar() -> None:
    """At 80 columns with a scrollbar, a line of 80 characters wraps before the scrollbar's
    column: its 80th character is on the next row, not under the bar."""
    line = "a" * 79 + "Z"
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(LogPane)
        pane.set_lines([Text(f"line {n}") for n in range(60)] + [Text(line)])
        await pilot.pause()
        await pilot.pause()
        visible = pane.scrollable_content_region.width
        assert visible < 80  # the scrollbar takes its column
        shown = [r.rstrip() for r in rows(pane)]
        assert all(len(r) <= visible for r in shown)
        assert shown[-2:] == [line[:visible], line[visible:]]
