"""`mab build --ci` on GitHub, fed recorded buildx streams by a stand-in `docker`: the job log's
groups and quoting, the outputs, the job summary and the exit code, without an engine.

The stand-in writes the recording to stderr (as buildx writes its rawjson progress), writes
`--metadata-file` when asked, and exits with the recorded exit code. The numbers are checked
against the summary of the same recording made directly from the progress model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mab.commands import build_ci
from mab.engine.buildcmd import BuildRequest
from mab.progress import ci
from mab.progress.decoder import StreamDecoder
from mab.progress.model import BuildModel
from mab.progress.summary import Summary
from tests.actions.harness import active_commands, read_file_commands

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams"
DIGEST = "sha256:" + "c0" * 32
FAKE_DOCKER = """#!/bin/sh
meta=""; prev=""
for a in "$@"; do
  if [ "$prev" = "--metadata-file" ]; then meta="$a"; fi
  prev="$a"
done
printf '%s\\n' "$*" >> "$FAKE_ARGV_LOG"
if [ -n "$meta" ] && [ "$FAKE_EXIT" = 0 ]; then printf '%s' "$FAKE_METADATA" > "$meta"; fi
cat "$FAKE_STREAM" >&2
exit "$FAKE_EXIT"
"""


def _direct_summary(stream: str, platforms: tuple[str, ...], code: int) -> Summary:
    decoder, model = StreamDecoder(), BuildModel(platforms)
    for event in decoder.feed((STREAMS / stream).read_bytes()):
        model.apply(event)
    for event in decoder.close():
        model.apply(event)
    model.finish(code)
    return Summary.from_model(model)


def _replay(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stream: str,
    code: int,
    req: BuildRequest,
    cache_prefix: str,
) -> tuple[int, dict[str, str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER, encoding="utf-8")
    docker.chmod(0o755)
    project = tmp_path / "project"
    project.mkdir()
    (project / "Dockerfile").write_text("FROM scratch\n", encoding="utf-8")
    monkeypatch.chdir(project)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_STREAM", str(STREAMS / stream))
    monkeypatch.setenv("FAKE_EXIT", str(code))
    monkeypatch.setenv("FAKE_ARGV_LOG", str(tmp_path / "argv.log"))
    metadata = {"containerimage.digest": DIGEST, "image.name": "localhost:5000/ref/app:latest"}
    monkeypatch.setenv("FAKE_METADATA", json.dumps(metadata))
    monkeypatch.setattr(build_ci, "preflight", lambda *args, **kwargs: None)
    runner = tmp_path / "runner"
    runner.mkdir()
    environ = {
        "GITHUB_ACTIONS": "true",
        "RUNNER_TEMP": str(runner),
        "GITHUB_OUTPUT": str(runner / "output"),
        "GITHUB_STEP_SUMMARY": str(runner / "summary"),
    }
    exit_code = build_ci.run_build_ci(
        req,
        record=None,
        cache_backend=None,
        cache_prefix=cache_prefix,
        cache_read_only=False,
        environ=environ,
    )
    outputs = read_file_commands((runner / "output").read_text(encoding="utf-8"))
    return exit_code, outputs, runner


def test_cache_heavy_build_reports_what_the_stream_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    platforms = ("linux/amd64", "linux/arm64")
    req = BuildRequest(platforms=platforms, tags=("localhost:5000/ref/app:latest",), push=True)
    code, outputs, runner = _replay(
        tmp_path, monkeypatch, "pruned-multi.rawjson", 0, req, "localhost:5000/ref/app"
    )
    log = capsys.readouterr().out
    assert code == 0
    direct = _direct_summary("pruned-multi.rawjson", platforms, 0)
    assert json.loads(outputs["hit-ratio"]) == ci.hit_ratios(direct)
    assert outputs["digest"] == DIGEST
    assert outputs["image"] == f"localhost:5000/ref/app@{DIGEST}"
    assert outputs["status"] == "succeeded"
    data = json.loads(Path(outputs["summary-path"]).read_text(encoding="utf-8"))
    assert data["platforms"] == direct.to_json()["platforms"]
    summary = (runner / "summary").read_text(encoding="utf-8")
    for p in direct.platforms:
        row = f"| `{p.platform}` | {p.steps} | {p.cached} | {p.executed} |"
        assert row in summary
    # The build, then one cache-only export per platform (part of the run), then a group per
    # platform with its steps (the run's result).
    groups = [line for line in log.splitlines() if line.startswith("::group::")]
    assert groups[0] == "::group::Build linux/amd64, linux/arm64"
    assert groups[1:3] == [
        "::group::Export the linux/amd64 layer cache",
        "::group::Export the linux/arm64 layer cache",
    ]
    assert [g.split(":")[4] for g in groups[3:5]] == ["linux/amd64", "linux/arm64"]
    assert log.count("::group::") == log.count("::endgroup::")
    assert active_commands(log) == [
        c for c in log.splitlines() if c.startswith(("::group::", "::endgroup::"))
    ]
    argv = (tmp_path / "argv.log").read_text(encoding="utf-8").splitlines()
    assert len(argv) == 3
    assert "--cache-to" not in argv[0].split() and "--metadata-file" in argv[0].split()
    for platform, line in zip(platforms, argv[1:], strict=True):
        assert f"--platform {platform} " in line and "--output type=cacheonly" in line
        slug = platform.replace("/", "-")
        assert f"--cache-to type=registry,ref=localhost:5000/ref/app:buildcache-{slug}," in line


def test_failed_build_exits_with_buildx_code_after_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    req = BuildRequest(platforms=("linux/amd64",))
    code, outputs, runner = _replay(tmp_path, monkeypatch, "fail.rawjson", 1, req, "r/app")
    log = capsys.readouterr().out
    assert code == 1
    direct = _direct_summary("fail.rawjson", ("linux/amd64",), 1)
    assert direct.error is not None
    assert outputs["status"] == "failed" and outputs["digest"] == ""
    summary = (runner / "summary").read_text(encoding="utf-8")
    assert f"**Failed step:** {direct.error.step}" in summary
    assert direct.error.log_tail[-1] in summary
    errors = [c for c in active_commands(log) if c.startswith("::error")]
    assert errors == [
        ci.error_annotation("mab build failed", f"{direct.error.step}: {direct.error.message}")
    ]
    # No cache export after a failed build (one platform exports within the build anyway).
    assert len((tmp_path / "argv.log").read_text(encoding="utf-8").splitlines()) == 1
