"""A step's bounded log: `extend` (a run of chunks in one piece, as the model feeds them) keeps
exactly what `add`, one chunk at a time, keeps."""

from __future__ import annotations

import random

import pytest

from mab.progress.logs import LOG_BYTES, StepLog

SIZES = (1, 10, 300, 5000, 40_000, LOG_BYTES, LOG_BYTES + 1, 70_000)


@pytest.mark.parametrize("seed", range(40))
def test_extend_keeps_what_adding_one_by_one_keeps(seed: int) -> None:
    rng = random.Random(seed)
    pool = bytes(rng.choice(b"ab\n") for _ in range(100_000))
    one_by_one, in_runs = StepLog(), StepLog()
    for _ in range(rng.randint(1, 8)):
        stream = rng.choice((1, 2))
        run = []
        for _ in range(rng.randint(1, 40)):
            size = rng.choice(SIZES)
            start = rng.randint(0, len(pool) - size)
            run.append(pool[start : start + size])
        added = sum(one_by_one.add(stream, data) for data in run)
        assert in_runs.extend(stream, run) == added
        assert (in_runs.seen, in_runs.seq, in_runs.size, in_runs.trimmed) == (
            one_by_one.seen,
            one_by_one.seq,
            one_by_one.size,
            one_by_one.trimmed,
        )
        assert {s: list(c) for s, c in in_runs.chunks.items()} == {
            s: list(c) for s, c in one_by_one.chunks.items()
        }
    assert in_runs.tail() == one_by_one.tail()
