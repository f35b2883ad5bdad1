"""Screens over the build: help, a yes/no question, the full log."""

from mab.tui.screens.confirm import ConfirmScreen
from mab.tui.screens.help import HelpScreen
from mab.tui.screens.log import LogScreen

__all__ = ["ConfirmScreen", "HelpScreen", "LogScreen"]
