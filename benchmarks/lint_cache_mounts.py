"""What `mab lint --fix` buys after a lockfile change: the dependency step's time without and
with the cache mount the fix adds, on the real engine (`scripts/engine-up.sh`).

    flock /work/wt/engine.lock python benchmarks/lint_cache_mounts.py [--fetch-ms 150] [--runs 2]

The project is the reference project's shape (tests/e2e/project: base, deps, src and final
stages) with its dependency list (deps.lock) installed the way most real Dockerfiles do it: a
package manager (`npm ci`) after `COPY package.json package-lock.json`, and no cache mount. The
package manager is the lint fixtures' stand-in (tests/fixtures/lint/standin): each package it
has to download costs `--fetch-ms` of wall time (a sleep, so the shared CPU is not the
measure), a package already in its cache directory costs nothing.

For each variant, `before` (the Dockerfile as written) and `after` (`mab lint --fix` applied):
a first build fills the layer cache (and, after the fix, the cache mount), then one package is
added to the lockfile and the deps stage is built again; the figure is the duration of that
second build's `RUN npm ci` step, as buildx's plain progress reports it. Each project copy is
salted, so no layer from an earlier run helps. Figures only; nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import engine_env  # noqa: E402
from tests.e2e.cachebuilds import parse_plain  # noqa: E402
from tests.lint.standin import prepare_context  # noqa: E402

DOCKERFILE = f"""\
# The reference project's stages, with its dependencies installed by a package manager.
FROM {engine_env.BASE_IMAGE} AS base
COPY mab-standin/ /usr/local/bin/
WORKDIR /app

FROM base AS deps
ARG STANDIN_FETCH_MS=0
COPY package.json package-lock.json ./
RUN npm ci

FROM base AS src
COPY src/ ./src/
RUN cat src/*.sh > app && chmod +x app

FROM base AS final
COPY --from=deps /app/node_modules ./node_modules
COPY --from=src /app/app ./
ENTRYPOINT ["/app/app"]
"""


def make_project(dest: Path, salt: str) -> Path:
    reference = ROOT / "tests" / "e2e" / "project"
    dest.mkdir(parents=True)
    shutil.copytree(reference / "src", dest / "src")
    (dest / ".dockerignore").write_text(".git\n", encoding="utf-8")
    (dest / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    (dest / "package.json").write_text('{"name": "reference", "private": true}\n')
    packages = [
        line.split()[:2]
        for line in (reference / "deps.lock").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    lines = [f'"{name}": "{version}" {salt}' for name, version in packages]
    (dest / "package-lock.json").write_text("\n".join(lines) + "\n", encoding="utf-8")
    prepare_context(dest)
    return dest


def add_package(project: Path, name: str) -> None:
    with (project / "package-lock.json").open("a", encoding="utf-8") as lock:
        lock.write(f'"{name}": "1.0.0"\n')


def deps_step(project: Path, fetch_ms: int) -> tuple[float, str]:
    """Build the deps stage; the `RUN npm ci` step's duration and what the tool printed."""
    argv = ["docker", "buildx", "build", "--progress=plain", "--target", "deps"]
    argv += ["--output", "type=cacheonly", "--build-arg", f"STANDIN_FETCH_MS={fetch_ms}", "."]
    done = subprocess.run(argv, cwd=project, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"build failed in {project}:\n{done.stderr[-3000:]}")
    for vertex in parse_plain(done.stdout + done.stderr).values():
        if (step := vertex.step) and step[1] == "deps" and "npm ci" in step[4]:
            said = next((log for log in vertex.logs if "downloaded" in log), "cached")
            return vertex.done_s or 0.0, said
    sys.exit("no `RUN npm ci` step in the build output")


def measure(root: Path, fix: bool, fetch_ms: int) -> tuple[float, str]:
    project = make_project(root / ("after" if fix else "before"), uuid.uuid4().hex)
    if fix:
        lint = [sys.executable, "-m", "mab", "lint", "--fix", "Dockerfile"]
        subprocess.run(lint, cwd=project, check=False, capture_output=True)
        assert "--mount=type=cache" in (project / "Dockerfile").read_text(encoding="utf-8")
    deps_step(project, fetch_ms)
    add_package(project, f"new-package-{uuid.uuid4().hex[:8]}")
    return deps_step(project, fetch_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fetch-ms", type=int, default=150, help="wall time per download")
    parser.add_argument("--runs", type=int, default=2, help="measurements per variant")
    args = parser.parse_args()
    ok, reason = engine_env.engine_available()
    if not ok:
        sys.exit(f"no engine: {reason}")
    print(f"engine: {reason}; load average {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mab-lint-bench-") as tmp:
        for run in range(args.runs):
            for fix in (False, True):
                seconds, said = measure(Path(tmp) / str(run), fix, args.fetch_ms)
                rows.append(
                    (run, "after --fix" if fix else "before (no cache mount)", seconds, said)
                )
    print()
    print(f"{'RUN':<4}{'DOCKERFILE':<26}{'DEPS STEP':>10}  PACKAGE MANAGER SAID")
    for run, label, seconds, said in rows:
        print(f"{run:<4}{label:<26}{seconds:>9.2f}s  {said}")
    before = min(s for _, label, s, _ in rows if label.startswith("before"))
    after = min(s for _, label, s, _ in rows if label.startswith("after"))
    print()
    print(
        f"dependency step after a one-package lockfile change: {after:.2f}s with the fix, "
        f"{before:.2f}s without (baseline) = {after / before * 100:.0f}% of the baseline "
        f"(best of {args.runs}; {args.fetch_ms} ms per download)"
    )


if __name__ == "__main__":
    main()
