"""A step's bounded log: the last output chunks of stdout and stderr, cut into lines when read."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from mab.progress.ansi import clean

__all__ = ["LOG_BUDGET", "LOG_BYTES", "LOG_LINES", "LOG_LINE_CHARS", "LogTail", "StepLog"]

LOG_LINES = 500  # per step and stream, when read
LOG_BYTES = 64 * 1024  # per step and stream
LOG_LINE_CHARS = 4096
LOG_BUDGET = 32 * 1024 * 1024  # all steps' kept logs; the least recently written go first


@dataclass(frozen=True, slots=True)
class LogTail:
    """The last lines of a step's output; `lines` interleaves both streams in order, with
    their colour codes (SGR) for a terminal view; `text` and `stream` are plain text."""

    lines: tuple[tuple[int, str], ...]  # (stream: 1 stdout / 2 stderr, text)
    dropped: int  # lines no longer kept
    partial: int = 0  # how many of the last `lines` are not ended by a newline yet

    def stream(self, stream: int) -> tuple[str, ...]:
        return tuple(clean(text) for s, text in self.lines if s == stream)

    @property
    def text(self) -> tuple[str, ...]:
        return tuple(clean(text) for _, text in self.lines)


class StepLog:
    """A bounded per-step log: the last output chunks of stdout and of stderr, kept apart.

    Chunks are kept as they came (cheap while a build runs) and cut into lines when read.
    """

    __slots__ = ("chunks", "seen", "seq", "size", "trimmed")

    def __init__(self) -> None:
        self.chunks: dict[int, deque[tuple[int, bytes]]] = {1: deque(), 2: deque()}
        self.size = {1: 0, 2: 0}
        self.trimmed = {1: False, 2: False}
        self.seq = 0
        self.seen = 0  # newlines seen

    def add(self, stream: int, data: bytes) -> int:
        """Keep a chunk; returns how many bytes more (or fewer) this log now holds."""
        self.seen += data.count(b"\n")
        added = len(data)
        if added > LOG_BYTES:
            data = data[-LOG_BYTES:]
            added = LOG_BYTES
            self.trimmed[stream] = True
        self.seq += 1
        chunks = self.chunks[stream]
        chunks.append((self.seq, data))
        size = self.size[stream] + added
        if size > LOG_BYTES:
            while size > LOG_BYTES and len(chunks) > 1:
                dropped = len(chunks.popleft()[1])
                size -= dropped
                added -= dropped
            self.trimmed[stream] = True
        self.size[stream] = size
        return added

    def extend(self, stream: int, datas: list[bytes]) -> int:
        """`add` each chunk in turn (the same result, in C-speed pieces); returns how many
        bytes more (or fewer) this log now holds."""
        if max(map(len, datas)) > LOG_BYTES:
            return sum(self.add(stream, data) for data in datas)
        self.seen += b"".join(datas).count(b"\n")
        first = self.seq + 1
        self.seq += len(datas)
        chunks = self.chunks[stream]
        before = self.size[stream]
        total = sum(map(len, datas))
        if total <= LOG_BYTES:  # every new chunk stays; the oldest kept ones may go
            chunks.extend(zip(range(first, first + len(datas)), datas, strict=True))
            size = before + total
            if size > LOG_BYTES:
                while size > LOG_BYTES and len(chunks) > 1:
                    size -= len(chunks.popleft()[1])
                self.trimmed[stream] = True
        else:  # only the newest chunks that fit stay
            keep, size = len(datas), 0
            while keep and size + len(datas[keep - 1]) <= LOG_BYTES:
                keep -= 1
                size += len(datas[keep])
            chunks.clear()
            chunks.extend(zip(range(first + keep, first + len(datas)), datas[keep:], strict=True))
            self.trimmed[stream] = True
        self.size[stream] = size
        return size - before

    def evict(self) -> int:
        """Forget every kept chunk (the build's log budget is spent); returns bytes freed."""
        freed = self.size[1] + self.size[2]
        for stream, chunks in self.chunks.items():
            if chunks:
                chunks.clear()
                self.trimmed[stream] = True
            self.size[stream] = 0
        return freed

    def tail(self, limit: int = LOG_LINES) -> LogTail:
        merged: list[tuple[int, int, str]] = []
        partial: list[tuple[int, str]] = []
        for stream, chunks in self.chunks.items():
            pending = b""
            mine: list[tuple[int, int, bytes]] = []
            for seq, data in chunks:
                parts = (pending + data).split(b"\n")
                pending = parts.pop()
                mine.extend((seq, stream, raw) for raw in parts)
            if self.trimmed[stream] and mine:
                mine.pop(0)  # the first line lost its beginning
            merged.extend((seq, s, _line(raw)) for seq, s, raw in mine[-limit:])
            if pending:
                partial.append((stream, _line(pending)))
        merged.sort(key=lambda x: x[0])
        lines = [(stream, text) for _, stream, text in merged]
        dropped = max(0, self.seen - len(lines))
        return LogTail(tuple(lines + partial), dropped, len(partial))


def _line(raw: bytes) -> str:
    # Colours stay (a terminal view shows them); every other control sequence goes, and a
    # progress bar redrawn in place keeps what was shown last.
    text = clean(raw.decode("utf-8", "replace"), colour=True)
    if len(text) > LOG_LINE_CHARS:
        text = text[:LOG_LINE_CHARS] + "…"
    return text
