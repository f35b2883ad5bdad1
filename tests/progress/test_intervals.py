"""A step's time is its runs merged (as buildx's progress UI keeps them), not the stretch from its
first start to its last completion."""

from __future__ import annotations

import pytest

from mab.progress.decoder import SolveStatus, Vertex
from mab.progress.model import BuildModel
from mab.progress.steps import merged_length
from tests.progress.progress_streams import T0, stamp

STEP = "[2/3] RUN make"


def model_of(*updates: tuple[float, float | None]) -> BuildModel:
    model = BuildModel(("linux/amd64",))
    for started, completed in updates:
        end = None if completed is None else stamp(T0 + completed)
        vertex = Vertex("sha256:a", name=STEP, started=stamp(T0 + started), completed=end)
        model.apply(SolveStatus(vertexes=(vertex,)))
    return model


def test_a_step_that_ran_twice_counts_its_runs_not_the_pause() -> None:
    # Ran 0-1 s, sat idle, was opened again at 5 s (a cache hit fetching its layers) to 6 s.
    model = model_of((0.0, None), (0.0, 1.0), (5.0, None), (5.0, 6.0))
    (view,) = model.steps()
    assert view.duration_s == pytest.approx(2.0)
    assert (view.started, view.completed) == (T0, T0 + 6.0)  # the span stays known


def test_a_step_resent_with_the_same_start_is_one_run() -> None:
    (view,) = model_of((0.0, None), (0.0, 3.0), (0.0, 3.0)).steps()
    assert view.duration_s == pytest.approx(3.0)


def test_a_running_step_has_no_time_yet() -> None:
    (view,) = model_of((0.0, 1.0), (5.0, None)).steps()
    assert view.duration_s is None


@pytest.mark.parametrize(
    ("intervals", "expected"),
    [
        ([], 0.0),
        ([(0.0, 1.0), (2.0, 3.0)], 2.0),
        ([(0.0, 4.0), (1.0, 2.0)], 4.0),  # one inside another
        ([(3.0, 5.0), (0.0, 4.0)], 5.0),  # overlapping, out of order
    ],
)
def test_merged_length(intervals: list[tuple[float, float]], expected: float) -> None:
    assert merged_length(intervals) == pytest.approx(expected)
