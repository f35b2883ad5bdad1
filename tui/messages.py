"""Messages the build worker sends back to the app."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from mab.tui.source import RunOutcome


@dataclass
class RunFinished(Message):
    """Run `number` of the session ended; `outcome` is frozen data from the source."""

    number: int
    outcome: RunOutcome
