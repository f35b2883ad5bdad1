"""FROM vertices as the Dockerfile steps they are, on recordings made on the engine."""

from __future__ import annotations

from pathlib import Path

from mab.history.align import normal_ref
from mab.history.capture import record_of_replay
from mab.progress.replay import model_of_recording

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams"


def ids(name: str) -> dict[str, list[str]]:
    data = (STREAMS / f"{name}.rawjson").read_bytes()
    record = record_of_replay(name, model_of_recording(name, data, "linux/amd64"), 0.0)
    return {p: [s.id for s in record.platform_steps(p)] for p in record.platforms}


def test_a_from_named_after_another_stage_is_its_own_stages_on_every_platform() -> None:
    """cross: amd64's `stage-1` FROM is the vertex BuildKit named `[linux/amd64 build 1/4]`
    (the same image on the same platform): both platforms have `stage-1#1`."""
    steps = ids("cross")
    assert steps["linux/amd64"] == steps["linux/arm64"]
    assert "stage-1#1" in steps["linux/amd64"]


def test_a_from_named_with_no_stage_goes_to_the_stage_of_its_step_count() -> None:
    """cancel: `[linux/amd64 1/3] FROM` in a four-stage build is `final 1/3`, not a stage ''."""
    for platform_steps in ids("cancel").values():
        assert "final#1" in platform_steps
        assert not any(s.startswith("#") for s in platform_steps)


def test_image_references_compare_as_buildkit_prints_them() -> None:
    assert normal_ref("node:20") == "docker.io/library/node:20"
    assert normal_ref("acme/app") == "docker.io/acme/app:latest"
    assert normal_ref("localhost:5000/base/busybox:1@sha256:ab") == "localhost:5000/base/busybox:1"
    assert normal_ref("ghcr.io/a/b:1") == "ghcr.io/a/b:1"
