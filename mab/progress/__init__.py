"""BuildKit progress: the rawjson stream decoder, the build model, summaries and plain output.

Pure: nothing here starts processes or touches the network. The buildx runner feeds stderr
bytes to a `StreamDecoder`, applies its events to a `BuildModel`, and the views (TUI, plain
printer, JSON and Markdown summaries) read the model.
"""

from mab.progress.decoder import Event, SolveStatus, StreamDecoder, TextLine
from mab.progress.model import (
    BuildModel,
    BuildStatus,
    Kind,
    LogTail,
    StepDetail,
    StepState,
    StepView,
)
from mab.progress.plain import PlainPrinter
from mab.progress.summary import Summary, render_markdown, render_table

__all__ = [
    "BuildModel",
    "BuildStatus",
    "Event",
    "Kind",
    "LogTail",
    "PlainPrinter",
    "SolveStatus",
    "StepDetail",
    "StepState",
    "StepView",
    "StreamDecoder",
    "Summary",
    "TextLine",
    "render_markdown",
    "render_table",
]
