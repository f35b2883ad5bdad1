"""The one outcome rule (`mab.progress.outcome`) on the recorded streams, and the failed step."""

from __future__ import annotations

import pytest

from mab.errors import EXIT_INCOMPLETE
from mab.progress.decoder import StreamDecoder
from mab.progress.model import BuildModel, BuildStatus, StepState
from mab.progress.recording import parse_outcome_trailer, record_header, record_trailer
from tests.tui.fakes import stream


def model_of(data: bytes) -> BuildModel:
    decoder = StreamDecoder()
    model = BuildModel()
    for event in [*decoder.feed(data), *decoder.close()]:
        model.apply(event)
    return model


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("cold-multi", "succeeded", 0),  # its failed cache import is build-wide: not a failure
        ("warm-multi", "succeeded", 0),
        ("pruned-multi", "succeeded", 0),
        ("cross", "succeeded", 0),
        ("loglines", "succeeded", 0),
        ("single", "succeeded", 0),
        ("fail", "failed", 1),
        ("cancel", "canceled", 130),
    ],
)
def test_recorded_outcome(name: str, status: str, code: int) -> None:
    outcome = model_of(stream(name)).recorded_outcome()
    assert (str(outcome.status), outcome.exit_code) == (status, code)
    assert outcome.canceled == (status == "canceled")


def test_a_stream_cut_mid_build_is_incomplete() -> None:
    data = stream("cold-multi")
    for cut in (0, 7000, len(data) // 2, data.rindex(b'"exporting to image"')):
        outcome = model_of(data[:cut]).recorded_outcome()
        assert outcome.status is BuildStatus.INCOMPLETE, cut
        assert outcome.exit_code == EXIT_INCOMPLETE


def test_the_outcome_line_of_mab_s_recording_wins() -> None:
    data = stream("single")
    cut = data[: len(data) // 2]
    framed = record_header(("linux/amd64",)) + cut + record_trailer("failed", 2)
    model = model_of(framed)
    assert model.requested == ("linux/amd64",)
    outcome = model.recorded_outcome()
    assert (outcome.status, outcome.exit_code) == (BuildStatus.FAILED, 2)
    assert not any(line.startswith("# mab") for line in model.text)


@pytest.mark.parametrize(
    "line",
    [
        "# mab outcome: failed",
        "# mab outcome: bogus 1",
        "# mab outcome: failed x",
        "# mab outcome: failed 256",
        "# mab outcome: failed 0",
        "# mab outcome: succeeded 1",
        "# mab outcome: canceled 0",
        "# mab outcome: failed ²",
    ],
)
def test_a_damaged_outcome_line_is_not_trusted(line: str) -> None:
    with pytest.raises(ValueError, match=r"outcome|exits with"):
        parse_outcome_trailer(line)
    assert parse_outcome_trailer("# mab x") is None


@pytest.mark.parametrize(
    ("name", "trailer", "status", "code"),
    [
        ("fail", ("failed", 256), BuildStatus.FAILED, 1),
        ("single", ("succeeded", 1), BuildStatus.SUCCEEDED, 0),
    ],
)
def test_a_contradicting_outcome_line_gives_way_to_the_stream_with_a_warning(
    name: str, trailer: tuple[str, int], status: BuildStatus, code: int
) -> None:
    model = model_of(record_header(("linux/amd64",)) + stream(name) + record_trailer(*trailer))
    outcome = model.recorded_outcome()
    assert (outcome.status, outcome.exit_code) == (status, code)
    assert any("the recording's outcome line is ignored" in line for line in model.text)


def test_failed_step_is_the_dockerfile_step_not_the_cache_import() -> None:
    assert model_of(stream("cold-multi")).failed_step() is None
    failed = model_of(stream("fail")).failed_step()
    assert failed is not None and failed.index == 4 and failed.state is StepState.ERROR


def test_a_multi_platform_stream_is_not_given_the_default_platform() -> None:
    decoder = StreamDecoder()
    model = BuildModel(default_platform="linux/s390x")
    for event in [*decoder.feed(stream("cold-multi")), *decoder.close()]:
        model.apply(event)
    assert model.platforms() == ("linux/amd64", "linux/arm64")
    assert not model.platform_inferred


def test_a_single_platform_stream_takes_the_default_platform() -> None:
    decoder = StreamDecoder()
    model = BuildModel(default_platform="linux/arm64")
    for event in [*decoder.feed(stream("raw-single")), *decoder.close()]:
        model.apply(event)
    assert model.platforms() == ("linux/arm64",)
    assert model.platform_inferred
    assert all(v.platforms == ("linux/arm64",) for v in model.steps())
