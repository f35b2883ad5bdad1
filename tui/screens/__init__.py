"""Modal screens: help and the no-cache rerun confirmation."""

from mab.tui.screens.confirm import ConfirmScreen
from mab.tui.screens.help import HelpScreen

__all__ = ["ConfirmScreen", "HelpScreen"]
