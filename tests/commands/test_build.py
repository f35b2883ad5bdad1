"""`mab build`: with a stand-in `docker` (exact argv, outputs, exit codes, errors), and against
the real engine (a two-platform build, and a build cancelled with SIGINT)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mab.errors import EXIT_ENVIRONMENT, EXIT_INTERRUPTED, EXIT_USAGE
from mab.run.options import RunOptions
from tests import engine_env
from tests.progress.progress_streams import multi_platform_stream

RunMab = Callable[..., int]  # the `run_mab` fixture of tests/conftest.py

# A `docker` that answers the preflight like a healthy engine (containerd store, amd64+arm64)
# and plays $MAB_FAKE_STREAM for `buildx build`, writing its arguments to $MAB_FAKE_ARGV.
FAKE_DOCKER = """\
#!/bin/sh
INFO='{"ServerVersion":"26.1.5","Driver":"overlayfs",'
INFO="$INFO"'"DriverStatus":[["driver-type","io.containerd.snapshotter.v1"]]}'
LS='{"Name":"default","Driver":"docker",'
LS="$LS"'"Nodes":[{"Name":"default","Platforms":["linux/amd64","linux/arm64"]}]}'
case "$1 $2" in
  "buildx version") echo "github.com/docker/buildx v0.13.1 abc"; exit 0 ;;
  "system info") echo "$INFO"; exit 0 ;;
  "buildx inspect") printf 'Name:   default\\nDriver: docker\\n'; exit 0 ;;
  "buildx ls") echo "$LS"; exit 0 ;;
  "buildx build")
    shift 2
    for a in "$@"; do printf '%s\\n' "$a"; done > "$MAB_FAKE_ARGV"
    echo "buildx stdout"
    cat "$MAB_FAKE_STREAM" >&2
    exit "${MAB_FAKE_EXIT:-0}" ;;
esac
echo "unexpected: $*" >&2
exit 99
"""


@dataclass(frozen=True)
class Fake:
    project: Path
    argv_file: Path

    @property
    def argv(self) -> list[str]:
        return self.argv_file.read_text().splitlines()


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fake:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    docker = bindir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    stream = tmp_path / "stream.rawjson"
    stream.write_bytes(multi_platform_stream(pretty=True))
    project = tmp_path / "project"
    project.mkdir()
    (project / "Dockerfile").write_text("FROM localhost:5000/base/busybox:1\n")
    (project / ".git").mkdir()
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("MAB_FAKE_STREAM", str(stream))
    monkeypatch.setenv("MAB_FAKE_ARGV", str(tmp_path / "argv.txt"))
    monkeypatch.chdir(project)
    return Fake(project, tmp_path / "argv.txt")


def test_json_summary_on_stdout_progress_on_stderr(
    fake: Fake, capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    code = run_mab("build", "--json", "--platform", "linux/amd64,linux/arm64")
    out, err = capfd.readouterr()
    assert code == 0
    summary = json.loads(out)  # nothing but the document on stdout
    assert summary["status"] == "succeeded"
    assert set(summary["platforms"]) == {"linux/amd64", "linux/arm64"}
    assert "[linux/arm64] deps 4/4 RUN ./install.sh DONE" in err
    assert "buildx stdout" in err  # buildx's own stdout is kept off the JSON
    assert fake.argv == ["--progress=rawjson", "--platform", "linux/amd64,linux/arm64", "."]


def test_plain_lines_and_table_without_a_terminal(
    fake: Fake, capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    code = run_mab("build", "--platform", "linux/amd64,linux/arm64")
    out, err = capfd.readouterr()
    assert code == 0
    assert "[linux/amd64] deps 4/4 RUN ./install.sh CACHED" in out
    assert "linux/arm64" in out.split("PLATFORM", 1)[1]  # the summary table
    assert "mab: docker buildx build --progress=rawjson" in err


def test_every_flag_reaches_buildx(
    fake: Fake, capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    (fake.project / "sub").mkdir()
    (fake.project / "sub" / "Dockerfile.x").write_text("FROM scratch\n")
    code = run_mab(
        "build", "sub", "-f", "sub/Dockerfile.x", "--platform", "linux/arm64",
        "-t", "localhost:5000/app:1", "--load", "--cache-from", "type=local,src=/c",
        "--cache-to", "type=inline", "--target", "app", "--build-arg", "A=1",
        "--builder", "default", "--no-tui", "--", "--provenance=false", "--sbom=false",
    )  # fmt: skip
    assert code == 0, capfd.readouterr().err
    assert fake.argv == [
        "--progress=rawjson", "--builder", "default", "--file", "sub/Dockerfile.x",
        "--platform", "linux/arm64", "--tag", "localhost:5000/app:1", "--load",
        "--cache-from", "type=local,src=/c", "--cache-to", "type=inline",
        "--target", "app", "--build-arg", "A=1", "--provenance=false", "--sbom=false", "sub",
    ]  # fmt: skip


def test_extra_args_without_context(fake: Fake, run_mab: RunMab) -> None:
    assert run_mab("build", "--platform", "linux/amd64", "--", "--sbom=false") == 0
    assert fake.argv[-2:] == ["--sbom=false", "."]


def test_config_gives_platforms_and_per_platform_caches(fake: Fake, run_mab: RunMab) -> None:
    (fake.project / ".mab.yml").write_text(
        "version: 1\nimage: localhost:5000/team/app\nplatforms: [linux/amd64, linux/arm64]\n"
    )
    assert run_mab("build", "--no-tui") == 0
    argv = fake.argv
    assert argv[argv.index("--platform") + 1] == "linux/amd64,linux/arm64"
    sources = [argv[i + 1] for i, a in enumerate(argv) if a == "--cache-from"]
    assert sources == [
        "type=registry,ref=localhost:5000/team/app:buildcache-linux-amd64",
        "type=registry,ref=localhost:5000/team/app:buildcache-linux-arm64",
    ]
    assert "--cache-to" not in argv  # several platforms: read-only unless --cache-to


def test_a_tag_alone_reads_and_writes_no_cache(fake: Fake, run_mab: RunMab) -> None:
    """`-t` names the image, not a cache: nothing is read that nobody named, nothing written."""
    assert run_mab("build", "--platform", "linux/arm64", "-t", "localhost:5000/app:dev") == 0
    assert "--cache-from" not in fake.argv and "--cache-to" not in fake.argv


def test_a_cache_written_when_asked_from_the_default_branch(
    fake: Fake, run_mab: RunMab, capfd: pytest.CaptureFixture[str]
) -> None:
    (fake.project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    spec = "type=registry,ref=localhost:5000/app:mine,mode=max"
    assert run_mab("build", "--no-tui", "--platform", "linux/arm64", "--cache-to", spec) == 0
    assert fake.argv[fake.argv.index("--cache-to") + 1] == spec
    assert "Caches written: localhost:5000/app:mine" in capfd.readouterr().out


def test_a_shared_cache_write_from_a_feature_branch_needs_force(
    fake: Fake, run_mab: RunMab, capfd: pytest.CaptureFixture[str]
) -> None:
    (fake.project / ".git" / "HEAD").write_text("ref: refs/heads/feature-x\n")
    spec = "type=registry,ref=localhost:5000/app:mine,mode=max"
    assert run_mab("build", "--no-tui", "--cache-to", spec) == EXIT_USAGE
    assert "this is branch feature-x, not main" in capfd.readouterr().err
    assert not fake.argv_file.exists()  # nothing ran
    assert run_mab("build", "--no-tui", "--cache-to", spec, "--force") == 0


def test_caches_of_the_image_ci_builds(fake: Fake, run_mab: RunMab) -> None:
    """No `.mab.yml`, no tag: the image CI would push (from the git remote and the detected
    Dockerfile) names the per-platform caches, as in the generated workflow; a local build
    reads them."""
    (fake.project / ".git" / "config").write_text(
        '[remote "origin"]\n\turl = https://github.com/Acme/Shop.git\n'
    )
    for name in ("api", "web"):
        (fake.project / name).mkdir()
        (fake.project / name / "Dockerfile").write_text("FROM scratch\n")
    assert run_mab("build", "web", "--platform", "linux/amd64") == 0
    argv = fake.argv
    assert argv[argv.index("--cache-from") + 1] == (
        "type=registry,ref=ghcr.io/acme/shop/web:buildcache-linux-amd64"
    )
    assert "--cache-to" not in argv  # read, not written: CI's default branch writes it


def test_record_keeps_the_raw_stream(fake: Fake, tmp_path: Path, run_mab: RunMab) -> None:
    record = tmp_path / "build.rawjson"
    assert run_mab("build", "--no-tui", "--record", str(record)) == 0
    header, stream = record.read_bytes().split(b"\n", 1)
    assert header == b"# mab platforms: linux/amd64,linux/arm64"
    assert stream == multi_platform_stream(pretty=True) + b"\n# mab outcome: succeeded 0\n"


def test_failed_build_exits_with_buildx_code(
    fake: Fake,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    run_mab: RunMab,
) -> None:
    stream = tmp_path / "failed.rawjson"
    stream.write_bytes(multi_platform_stream(pretty=True, fail=True))
    monkeypatch.setenv("MAB_FAKE_STREAM", str(stream))
    monkeypatch.setenv("MAB_FAKE_EXIT", "1")
    code = run_mab("build", "--json")
    out, err = capfd.readouterr()
    assert code == 1
    summary = json.loads(out)
    assert summary["status"] == "failed"
    assert summary["error"] is not None
    assert "ERROR: failed to solve" in err


def test_closed_stdout_cancels_quietly(fake: Fake) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mab", "build", "--no-tui"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # `mab build | head -0`
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGPIPE  # the build canceled, then mab ends
    assert "stdout was closed, so the build was canceled" in err
    assert "Traceback" not in err


QA_API = Path(__file__).resolve().parents[1] / "fixtures" / "qa" / "lint-two-services" / "api"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere"], "nowhere: no such directory"),
        (["-f", "Nope.Dockerfile"], "Nope.Dockerfile: no such Dockerfile"),
        (["--push", "--load"], "--push and --load cannot be used together"),
        (["--build-arg", "JUSTKEY"], "is not KEY=VALUE"),
        (["--platform", "linux/z80"], "unknown platform 'linux/z80'"),
        # a Dockerfile given as the context, a folder as -f: said as such, not "no such"
        ([str(QA_API / "Dockerfile")], "Dockerfile: is a file, not a folder (the build context)"),
        (["-f", str(QA_API)], "api: is a folder, not a Dockerfile"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(
    fake: Fake, capfd: pytest.CaptureFixture[str], args: list[str], message: str, run_mab: RunMab
) -> None:
    code = run_mab("build", *args)
    out, err = capfd.readouterr()
    assert code == EXIT_USAGE
    assert message in err
    assert "Traceback" not in err + out
    assert not fake.argv_file.exists()  # nothing ran


def test_no_dockerfile(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    run_mab: RunMab,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_mab("build") == EXIT_USAGE
    assert "Dockerfile: no such file" in capfd.readouterr().err


def test_docker_missing(
    fake: Fake, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    monkeypatch.setenv("PATH", str(fake.project))  # no docker in there
    assert run_mab("build") == EXIT_ENVIRONMENT
    err = capfd.readouterr().err
    assert "`docker` is not on PATH" in err
    assert "hint: install the Docker CLI" in err


def test_daemon_down(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    run_mab: RunMab,
) -> None:
    if subprocess.run(["sh", "-c", "command -v docker"], capture_output=True).returncode:
        pytest.skip("no docker client on PATH")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    assert run_mab("build", "--platform", "linux/amd64") == EXIT_ENVIRONMENT
    err = capfd.readouterr().err
    assert "the Docker daemon is not reachable" in err
    assert "DOCKER_HOST=unix:///nonexistent.sock" in err
    assert "Traceback" not in err


def test_tui_hook_falls_back_to_plain_lines(
    fake: Fake, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    import mab.commands.build as build

    monkeypatch.setattr(build, "interactive", lambda: True)
    monkeypatch.setattr(build, "tui_entry", lambda: None)  # no TUI installed
    assert run_mab("build") == 0
    assert "PLATFORM" in capfd.readouterr().out


def test_tui_hook_gets_the_request(
    fake: Fake, monkeypatch: pytest.MonkeyPatch, run_mab: RunMab
) -> None:
    import mab.commands.build as build

    seen = []

    class App:
        def run_build_app(self, options: RunOptions) -> int:
            seen.append(options)
            return 7

        def run_replay_app(self, request: object) -> int:
            raise AssertionError("a build replays nothing")

    monkeypatch.setattr(build, "interactive", lambda: True)
    monkeypatch.setattr(build, "tui_entry", App)
    assert run_mab("build", "--platform", "linux/arm64", "--record", "r.json") == 7
    options = seen[0]
    assert options.request.platforms == ("linux/arm64",)
    assert options.record == Path("r.json")
    assert options.history is not None  # each run records its build history
    assert not fake.argv_file.exists()  # the app runs the build, not the command


# --------------------------------------------------------------------------- the real engine

DOCKERFILE = """\
FROM localhost:5000/base/busybox:1
ARG MARK
RUN echo "built $MARK on $(uname -m)" > /built.txt
RUN cat /built.txt
"""


def _mab(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mab", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def real_project(tmp_path: Path, engine_ready: None) -> Iterator[Path]:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    yield tmp_path


@pytest.mark.engine
def test_real_two_platform_build_json(real_project: Path) -> None:
    mark = uuid.uuid4().hex  # a fresh build every run: no step is cached
    cache = real_project / "cache"
    common = ["--platform", "linux/amd64,linux/arm64", "--build-arg", f"MARK={mark}"]
    proc = _mab(
        "build", "--no-tui", "--json", *common, "--record", "rec.rawjson",
        "--cache-to", f"type=local,dest={cache},mode=max", ".", cwd=real_project,
    )  # fmt: skip
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["status"] == "succeeded"
    assert summary["error"] is None
    assert set(summary["platforms"]) == {"linux/amd64", "linux/arm64"}
    for numbers in summary["platforms"].values():
        assert (numbers["steps"], numbers["executed"], numbers["cached"]) == (2, 2, 0), numbers
    runs = [s for s in summary["steps"] if s["instruction"].startswith("RUN")]
    assert sorted(p for s in runs for p in s["platforms"]) == [
        "linux/amd64", "linux/amd64", "linux/arm64", "linux/arm64",
    ]  # fmt: skip
    assert b'"vertexes"' in (real_project / "rec.rawjson").read_bytes()

    # Again from the exported cache. Other tests on the shared engine prune its build cache,
    # now and then in the middle of a build; one more try tells that apart from a miss.
    for _ in range(2):
        again = _mab(
            "build", "--json", *common, "--cache-from", f"type=local,src={cache}", ".",
            cwd=real_project,
        )  # fmt: skip
        out, err = again.communicate(timeout=300)
        assert again.returncode == 0, err
        hits = json.loads(out)["platforms"]
        if hits["linux/amd64"]["executed"] == 0:
            break
    assert (hits["linux/amd64"]["cached"], hits["linux/amd64"]["executed"]) == (2, 0), hits
    # The emulated arm64 steps are sometimes run again on this engine (Docker 26.1, containerd
    # store, QEMU) while other builds share the base image: plain `docker buildx build
    # --progress=plain` shows the same. mab only has to report what BuildKit did.
    arm64 = hits["linux/arm64"]
    assert arm64["cached"] + arm64["executed"] == arm64["steps"] == 2, hits


@pytest.mark.engine
def test_real_build_cancelled_with_sigint(real_project: Path) -> None:
    (real_project / "Dockerfile").write_text(
        "FROM localhost:5000/base/busybox:1\nARG MARK\nRUN echo $MARK && sleep 120\n"
    )
    mark = f"mab-cancel-{uuid.uuid4().hex}"
    proc = _mab(
        "build", "--no-tui", "--json", "--platform", "linux/amd64,linux/arm64",
        "--build-arg", f"MARK={mark}", ".", cwd=real_project,
    )  # fmt: skip
    engine_env.wait_for_buildx(proc, mark)
    time.sleep(3)  # let the RUN steps start
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - started < 30
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert json.loads(out)["status"] == "canceled"
    assert "mab: build canceled" in err
    assert "Traceback" not in err
    time.sleep(0.5)
    assert not engine_env.buildx_running(mark), "a docker buildx build process was left behind"


def test_fake_docker_script_is_posix_sh() -> None:
    # the stand-in must run under dash as well as bash
    assert textwrap.dedent(FAKE_DOCKER).startswith("#!/bin/sh\n")


def test_the_builder_s_first_platform_is_the_default_of_an_unnamed_build() -> None:
    from mab.commands.build import default_platform
    from mab.engine.buildcmd import BuildRequest
    from mab.engine.checks import BuilderInfo, Preflight

    checked = Preflight((), builder=BuilderInfo("b", "docker", ("linux/arm64", "linux/amd64")))
    assert default_platform(BuildRequest(context="."), checked) == "linux/arm64"
    named = BuildRequest(context=".", platforms=("linux/amd64",))
    assert default_platform(named, checked) is None  # asked for: nothing to infer
    assert default_platform(BuildRequest(context="."), Preflight(())) is None
