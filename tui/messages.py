"""Messages the build worker (and the run's display) send back to the app."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from mab.run.result import BuildResult


@dataclass
class ModelChanged(Message):
    """Run `number`'s model moved on (sent at most once until the app has taken it)."""

    number: int


@dataclass
class RunNotice(Message):
    """Something run `number` had to say (history, metrics)."""

    number: int
    text: str


@dataclass
class RunFinished(Message):
    """Run `number` of the app ended; `result` is its whole result."""

    number: int
    result: BuildResult
