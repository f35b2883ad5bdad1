#!/usr/bin/env python3
"""Record real `docker buildx build` progress streams as test fixtures.

Needs the engine from `scripts/engine-up.sh` (root, dockerd, registry on localhost:5000 and
the base image). Builds the reference project (tests/e2e/project, copied to a scratch dir)
through a fixed sequence of scenarios and writes, into tests/fixtures/streams/:

  <name>.rawjson     stderr of the build run with --progress=rawjson
  <name>.plain.txt   stderr of the same build run with --progress=plain
  <name>.cmd         both exact commands, their exit codes and durations, and the state
                     the build started from

The whole sequence runs twice: first every scenario with rawjson, then -- starting again
from the same cold reset -- every scenario with plain. Each scenario's two recordings so
start from the same cache state (builder cache, image store and registry refs); only
timings differ.

WARNING: it wipes the engine's build cache (`docker builder prune -af`) and deletes the
`ref/app` repository's tags in the local registry. Usage:

  sudo python3 scripts/record_streams.py [--only NAME ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "tests" / "e2e" / "project"
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "streams"
REGISTRY = "localhost:5000"
REGISTRY_URL = "http://127.0.0.1:5000"
BASE_IMAGE = f"{REGISTRY}/base/busybox:1"
APP_REPO = "ref/app"
APP = f"{REGISTRY}/{APP_REPO}"
PLATFORMS = ("linux/amd64", "linux/arm64")
CANCEL_AFTER_S = 12.0
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
MAX_FIXTURE_BYTES = 5 * 1024 * 1024


def say(msg: str) -> None:
    print(f"[record] {msg}", flush=True)


def cache_to(ref: str) -> str:
    return (
        f"type=registry,ref={ref},mode=max,oci-mediatypes=true,"
        "image-manifest=true,ignore-error=true"
    )


def cache_from(ref: str) -> str:
    return f"type=registry,ref={ref}"


def plat_suffix(platform: str) -> str:
    return platform.replace("/", "-")


# ---------------------------------------------------------------------------
# Engine state
# ---------------------------------------------------------------------------
def quiet(argv: Sequence[str]) -> None:
    """Run a housekeeping command; failures are reported, not fatal."""
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        say(f"(ignored) {shlex.join(argv)}: {done.stderr.strip().splitlines()[-1:]}")


def registry_tags(repo: str) -> list[str]:
    try:
        with urllib.request.urlopen(f"{REGISTRY_URL}/v2/{repo}/tags/list", timeout=10) as resp:
            tags = json.load(resp).get("tags") or []
    except (urllib.error.URLError, OSError, ValueError):
        return []
    return [str(t) for t in tags]


def delete_registry_repo(repo: str) -> None:
    """Delete every tag of REPO (via its manifest digest; the registry has deletes on)."""
    for tag in registry_tags(repo):
        head = urllib.request.Request(
            f"{REGISTRY_URL}/v2/{repo}/manifests/{tag}",
            method="HEAD",
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        )
        try:
            with urllib.request.urlopen(head, timeout=10) as resp:
                digest = resp.headers.get("Docker-Content-Digest", "")
            if digest:
                delete = urllib.request.Request(
                    f"{REGISTRY_URL}/v2/{repo}/manifests/{digest}", method="DELETE"
                )
                with urllib.request.urlopen(delete, timeout=10):
                    pass
        except urllib.error.HTTPError as exc:
            if exc.code != 404:  # several tags on one digest: the first delete took them all
                raise


def local_images() -> list[str]:
    done = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [
        line
        for line in done.stdout.split()
        if line.startswith((APP, BASE_IMAGE.rsplit(":", 1)[0], "mab-record/"))
    ]


def prune_builder() -> None:
    quiet(["docker", "builder", "prune", "-af"])


def remove_images() -> None:
    images = local_images()
    if images:
        quiet(["docker", "image", "rm", "-f", *images])


def fresh_runner() -> None:
    """What a fresh CI runner looks like: no build cache, no images (registry untouched)."""
    prune_builder()
    remove_images()


def cold_reset() -> None:
    """A fresh runner and no cache refs or app images in the registry either."""
    fresh_runner()
    delete_registry_repo(APP_REPO)


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------
@dataclass
class Scenario:
    name: str
    before: str  # human description of the starting state, for the .cmd file
    args: list[str]  # buildx build arguments after `--progress=...`
    setup: Callable[[Path], None] = field(default=lambda _work: None)
    cancel_after: float | None = None


@dataclass
class Result:
    argv: list[str]
    exit_code: int
    seconds: float
    stdout: str


def source_only_change(work: Path) -> None:
    main = work / "src" / "main.sh"
    text = main.read_text()
    marker = "# source-only change for the pruned-multi scenario\n"
    if marker not in text:
        main.write_text(text + marker)


def scenarios() -> list[Scenario]:
    both = ",".join(PLATFORMS)
    multi_cache = f"{APP}:buildcache"
    per_platform = {p: f"{APP}:buildcache-{plat_suffix(p)}" for p in PLATFORMS}
    # cold-multi and warm-multi run the same command; only the cache state before differs.
    multi_args = [
        "--platform",
        both,
        "--cache-from",
        cache_from(multi_cache),
        "--cache-to",
        cache_to(multi_cache),
        "-t",
        f"{APP}:latest",
        "--push",
        ".",
    ]
    out: list[Scenario] = [
        Scenario(
            "cold-multi",
            "cold: empty builder cache, no images, no cache refs in the registry "
            "(so the --cache-from import fails, and the build goes on)",
            multi_args,
            setup=lambda _work: cold_reset(),
        ),
        Scenario(
            "warm-multi",
            "warm: right after cold-multi, same command; everything in the local cache",
            multi_args,
        ),
    ]
    for i, platform in enumerate(PLATFORMS):
        ref = per_platform[platform]
        job = [
            "--platform",
            platform,
            "--cache-from",
            cache_from(ref),
            "--cache-to",
            cache_to(ref),
            "-t",
            f"{APP}:{plat_suffix(platform)}",
            "--push",
            ".",
        ]
        out.append(
            Scenario(
                f"cold-multi-{plat_suffix(platform)}",
                f"cold per-platform {platform} job of a multi-arch pipeline: empty builder "
                "cache, no images, no cache ref for this platform in the registry",
                job,
                setup=(lambda _work: cold_reset()) if i == 0 else (lambda _work: fresh_runner()),
            )
        )
        out.append(
            Scenario(
                f"warm-multi-{plat_suffix(platform)}",
                f"warm: the same {platform} job again right after cold-multi-"
                f"{plat_suffix(platform)}, on a runner that kept its local cache",
                job,
            )
        )
    pruned_from = [a for p in PLATFORMS for a in ("--cache-from", cache_from(per_platform[p]))]

    def pruned_setup(work: Path) -> None:
        source_only_change(work)
        fresh_runner()

    out += [
        Scenario(
            "pruned-multi",
            "fresh runner (docker builder prune -af, images removed) after a source-only "
            "change (src/main.sh); both per-platform registry cache refs from cold-multi-* "
            "exist, so the deps stage is restored from them (cached: true)",
            ["--platform", both, *pruned_from, "-t", f"{APP}:latest", "--push", "."],
            setup=pruned_setup,
        ),
        Scenario(
            "pruned-multi-linux-arm64",
            "fresh runner after the same source-only change; the per-platform linux/arm64 "
            "job with its own registry cache ref",
            [
                "--platform",
                "linux/arm64",
                "--cache-from",
                cache_from(per_platform["linux/arm64"]),
                "--cache-to",
                cache_to(per_platform["linux/arm64"]),
                "-t",
                f"{APP}:linux-arm64",
                "--push",
                ".",
            ],
            setup=lambda _work: fresh_runner(),
        ),
        Scenario(
            "single",
            "fresh runner; one platform, no registry cache, image kept in the local store",
            ["--platform", "linux/amd64", "-t", "mab-record/app:single", "."],
            setup=lambda _work: fresh_runner(),
        ),
        Scenario(
            "fail",
            "right after single; a test step fails (exit 1 in the RUN)",
            [
                "--platform",
                "linux/amd64",
                "-f",
                "variants/Dockerfile.fail",
                "-t",
                "mab-record/app:fail",
                ".",
            ],
        ),
        Scenario(
            "cancel",
            f"fresh runner; two platforms; SIGINT to the client's process group "
            f"{CANCEL_AFTER_S:g}s after start, while linux/arm64 deps still runs under QEMU",
            ["--platform", both, "-t", "mab-record/app:cancel", "."],
            setup=lambda _work: fresh_runner(),
            cancel_after=CANCEL_AFTER_S,
        ),
        Scenario(
            "loglines",
            "fresh runner; one step printing 30000 lines (every tenth on stderr)",
            [
                "--platform",
                "linux/amd64",
                "-f",
                "variants/Dockerfile.loglines",
                "-t",
                "mab-record/app:loglines",
                ".",
            ],
            setup=lambda _work: fresh_runner(),
        ),
        Scenario(
            "cross",
            "fresh runner; two platforms, a cross-compiling build stage on $BUILDPLATFORM",
            [
                "--platform",
                both,
                "-f",
                "variants/Dockerfile.cross",
                "-t",
                "mab-record/app:cross",
                ".",
            ],
            setup=lambda _work: fresh_runner(),
        ),
        Scenario(
            "ansi",
            "one platform; every step run again (--no-cache); the RUN writes terminal control "
            "sequences (clear screen, colours, cursor moves, a window title, a bell, "
            "backspaces, carriage returns)",
            [
                "--platform",
                "linux/amd64",
                "-f",
                "variants/Dockerfile.ansi",
                "-t",
                "mab-record/app:ansi",
                "--no-cache",
                ".",
            ],
        ),
        Scenario(
            "parse-error",
            "two platforms; the Dockerfile has a misspelt instruction on line 7 (BuildKit "
            "stops while loading the build definition)",
            [
                "--platform",
                both,
                "-f",
                "variants/Dockerfile.parse-error",
                "-t",
                "mab-record/app:parse-error",
                ".",
            ],
        ),
    ]
    return out


# ---------------------------------------------------------------------------
# Running and writing
# ---------------------------------------------------------------------------
def run_build(argv: list[str], cwd: Path, stderr_path: Path, cancel_after: float | None) -> Result:
    started = time.monotonic()
    with stderr_path.open("wb") as err:
        # A session of its own, so SIGINT goes to docker and its buildx plugin together,
        # as a terminal's Ctrl-C would.
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        if cancel_after is not None:
            try:
                proc.wait(timeout=cancel_after)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGINT)
        try:
            stdout, _ = proc.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, _ = proc.communicate()
    return Result(
        argv, proc.returncode, time.monotonic() - started, stdout.decode(errors="replace")
    )


def write_cmd(out: Path, sc: Scenario, results: dict[str, Result]) -> None:
    lines = [
        f"# mab stream fixture: {sc.name}",
        f"# state before: {sc.before}",
        "# cwd: a scratch copy of tests/e2e/project (see scripts/record_streams.py)",
    ]
    if sc.cancel_after is not None:
        lines.append(f"# cancelled: SIGINT to the process group after {sc.cancel_after:g}s")
    for progress, suffix in (("rawjson", ".rawjson"), ("plain", ".plain.txt")):
        res = results.get(progress)
        if res is None:
            continue
        lines.append(
            f"# --progress={progress}: stderr -> {sc.name}{suffix}; "
            f"exit {res.exit_code}; {res.seconds:.1f}s"
        )
        lines.append(shlex.join(res.argv))
        lines.append(f"exit={res.exit_code}")
        if res.stdout.strip():
            lines.append(f"# stdout: {res.stdout.strip()[:500]}")
    (out / f"{sc.name}.cmd").write_text("\n".join(lines) + "\n")


def tool_version(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.stdout.strip() or done.stderr.strip()


def write_readme(out: Path, recorded: list[Scenario]) -> None:
    buildx = tool_version(["docker", "buildx", "version"])
    server = tool_version(["docker", "version", "--format", "{{.Server.Version}}"])
    client = tool_version(["docker", "version", "--format", "{{.Client.Version}}"])
    rows = "\n".join(f"| `{sc.name}` | {sc.before} |" for sc in recorded)
    text = f"""# Recorded buildx progress streams

Real streams from `docker buildx build`, recorded by `scripts/record_streams.py` against
the engine of `scripts/engine-up.sh`, building `tests/e2e/project` (base image
`{BASE_IMAGE}`, platforms {", ".join(PLATFORMS)}; linux/arm64 runs under QEMU).

- buildx: `{buildx}`
- Docker Engine (BuildKit inside, `docker` driver, containerd image store): `{server}`
- docker client: `{client}`

For each scenario:

- `<name>.rawjson` — the build's stderr with `--progress=rawjson`. buildx 0.13 pretty-prints
  each SolveStatus object over many lines; a failed build ends with plain-text `ERROR:` lines.
- `<name>.plain.txt` — stderr of the same build with `--progress=plain`.
- `<name>.cmd` — the exact commands, their exit codes and durations, and the starting state.

How the pairs were made: the script runs the whole scenario sequence once with rawjson,
then runs it again from the same cold reset with plain (builder cache pruned, images removed,
the `{APP_REPO}` registry repository emptied). Each plain recording so starts from the same
cache state as its rawjson twin; timings, digests of pushed manifests and (for `cancel`) how
far the build got differ.

| scenario | starting state |
| --- | --- |
{rows}

Files are test data: keep them byte-for-byte (`ruff` and `mypy` skip this folder).
"""
    (out / "README.md").write_text(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", nargs="*", default=None, help="scenario names to keep")
    parser.add_argument(
        "--progress", nargs="*", default=["rawjson", "plain"], choices=["rawjson", "plain"]
    )
    opts = parser.parse_args(argv)

    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        say("docker does not answer: run scripts/engine-up.sh first")
        return 2
    out: Path = opts.out
    out.mkdir(parents=True, exist_ok=True)
    all_scenarios = scenarios()
    results: dict[str, dict[str, Result]] = {sc.name: {} for sc in all_scenarios}
    failures: list[str] = []

    with tempfile.TemporaryDirectory(prefix="mab-record-") as tmp:
        work = Path(tmp) / "project"
        for progress in opts.progress:
            say(f"=== pass: --progress={progress} ===")
            # Every pass starts from a fresh copy of the project and a cold engine.
            if work.exists():
                shutil.rmtree(work)
            shutil.copytree(PROJECT, work)
            for sc in all_scenarios:
                sc.setup(work)  # state changes run even for skipped scenarios
                if opts.only and sc.name not in opts.only:
                    continue
                suffix = ".rawjson" if progress == "rawjson" else ".plain.txt"
                argv_ = ["docker", "buildx", "build", f"--progress={progress}", *sc.args]
                say(f"{sc.name} ({progress}): {shlex.join(argv_)}")
                res = run_build(argv_, work, out / f"{sc.name}{suffix}", sc.cancel_after)
                results[sc.name][progress] = res
                size = (out / f"{sc.name}{suffix}").stat().st_size
                say(f"  exit {res.exit_code} in {res.seconds:.1f}s, {size} bytes")
                expect_fail = sc.name in ("fail", "cancel", "parse-error")
                if (res.exit_code != 0) != expect_fail:
                    failures.append(f"{sc.name} ({progress}): unexpected exit {res.exit_code}")
                if size > MAX_FIXTURE_BYTES:
                    failures.append(f"{sc.name}{suffix}: {size} bytes is over the size cap")

    recorded = [sc for sc in all_scenarios if results[sc.name]]
    for sc in recorded:
        write_cmd(out, sc, results[sc.name])
    if not opts.only:
        write_readme(out, recorded)
    for problem in failures:
        say(f"PROBLEM: {problem}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
