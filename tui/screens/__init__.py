"""Screens over the build: help, a yes/no question, the full log, the timeline."""

from mab.tui.screens.confirm import ConfirmScreen
from mab.tui.screens.help import HelpScreen
from mab.tui.screens.log import LogScreen
from mab.tui.screens.timeline import TimelineScreen

__all__ = ["ConfirmScreen", "HelpScreen", "LogScreen", "TimelineScreen"]
