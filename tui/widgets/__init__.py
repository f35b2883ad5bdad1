"""The app's widgets, one per module."""

from mab.tui.widgets.build_wide import BuildWide
from mab.tui.widgets.details import StepDetails
from mab.tui.widgets.header import BuildHeader, HeaderInfo, PlatformLine
from mab.tui.widgets.platform_columns import PlatformColumns
from mab.tui.widgets.problem import ProblemPanel
from mab.tui.widgets.step_list import StepList
from mab.tui.widgets.summary import SummaryPanel

__all__ = [
    "BuildHeader",
    "BuildWide",
    "HeaderInfo",
    "PlatformColumns",
    "PlatformLine",
    "ProblemPanel",
    "StepDetails",
    "StepList",
    "SummaryPanel",
]
