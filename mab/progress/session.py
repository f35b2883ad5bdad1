"""A build stream's life for the line-based views: raw bytes (or events) in, the build model
and plain lines out, then the outcome and the summary.

`plain`: progress and the summary table on stdout. `json`: the JSON summary alone on stdout
(`mab build --json | jq` works), progress on stderr only when a person may read it there.
"""

from __future__ import annotations

import json
import sys
from typing import Literal

from mab.progress.decoder import Event, StreamDecoder
from mab.progress.model import BuildModel
from mab.progress.outcome import Outcome
from mab.progress.plain import PlainPrinter
from mab.progress.summary import Summary

__all__ = ["SessionMode", "StreamSession"]

SessionMode = Literal["plain", "json"]


class StreamSession:
    """One build stream through the decoder and the model, shown as plain lines.

    `progress`: print a line per step change (on stdout in `plain` mode, on stderr in `json`
    mode); without it only the summary is written.
    """

    def __init__(
        self,
        platforms: tuple[str, ...],
        mode: SessionMode,
        *,
        default_platform: str | None = None,
        progress: bool = True,
    ) -> None:
        self.mode = mode
        self.progress = progress
        self.decoder = StreamDecoder()
        self.model = BuildModel(platforms, default_platform=default_platform)
        out = sys.stderr if mode == "json" else sys.stdout
        self.printer = PlainPrinter(self.model, out.write, flush=out.flush)
        self.summary: Summary | None = None

    def feed(self, chunk: bytes) -> None:
        self.model.apply_all(self.decoder.feed(chunk))
        if self.progress:
            self.printer.update()

    def apply(self, event: Event) -> None:
        self.model.apply(event)
        if self.progress:
            self.printer.update()

    def flush(self) -> None:
        """The stream ended: the decoder's last events go to the model."""
        self.model.apply_all(self.decoder.close())

    def finish(
        self,
        exit_code: int = 0,
        canceled: bool = False,
        duration_s: float | None = None,
        *,
        outcome: Outcome | None = None,
    ) -> Summary:
        """Settle the model (from the build's exit code, or a recording's `outcome`)."""
        self.flush()
        self.model.finish(exit_code, canceled, outcome=outcome)
        self.summary = Summary.from_model(self.model, duration_s=duration_s)
        return self.summary

    def report(self) -> None:
        """Print what is left, then the summary (a table, or the JSON document on stdout)."""
        assert self.summary is not None, "finish() first"
        if self.mode == "json":
            if self.progress:
                self.printer.update()
            sys.stdout.write(json.dumps(self.summary.to_json(), indent=2) + "\n")
            sys.stdout.flush()
        else:
            self.printer.finish(self.summary)
