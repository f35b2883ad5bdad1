"""How fast `mab.detection.detect.detect` walks a large repository, against `git ls-files` on
the same tree.

Builds a synthetic git repository of about 100,000 files in a temporary directory: many
packages with sources and tests, node_modules trees (which detection must skip), a few
Dockerfiles and lockfiles, and an ignored build directory. Then it times both and prints a table.

    python3 benchmarks/detect_speed.py [--files N] [--runs R]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mab.detection.detect import detect

PACKAGE_JSON = '{\n  "name": "pkg-%d",\n  "version": "1.0.%d",\n  "private": true\n}\n'
DOCKERFILE = (
    "FROM node:22-alpine\nWORKDIR /app\nCOPY package.json package-lock.json ./\n"
    "RUN --mount=type=cache,target=/root/.npm npm ci\nCOPY . .\n"
)


def package_dir(root: Path, n: int) -> Path:
    return root / "packages" / f"group-{n // 50}" / f"pkg-{n}"


def build_tree(root: Path, files: int) -> int:
    """Write a monorepo of about `files` files (a fifth of them in node_modules); the count."""
    (root / ".gitignore").write_text("node_modules/\n/out/\n*.log\n")
    written = 1
    tracked_budget = files * 4 // 5
    package = 0
    while written < tracked_budget:
        pkg = package_dir(root, package)
        for sub in ("src/lib", "src/components", "test"):
            (pkg / sub).mkdir(parents=True, exist_ok=True)
        (pkg / "package.json").write_text(PACKAGE_JSON % (package, package))
        (pkg / "package-lock.json").write_text('{"lockfileVersion": 3}\n')
        written += 2
        if package % 40 == 0:
            (pkg / "Dockerfile").write_text(DOCKERFILE)
            written += 1
        for n in range(30):
            sub = ("src/lib", "src/components", "test")[n % 3]
            (pkg / sub / f"module_{n}.ts").write_text(f"export const v{n} = {n};\n")
        written += 30
        package += 1
    dep = 0
    while written < files:  # node_modules trees in every tenth package, untracked
        owner = package_dir(root, dep * 10 % package)
        lib = owner / "node_modules" / f"dep-{dep}" / "lib"
        lib.mkdir(parents=True, exist_ok=True)
        for n in range(20):
            (lib / f"index_{n}.js").write_text("module.exports = {};\n")
        (lib.parent / "Dockerfile").write_text("FROM scratch\n")
        written += 21
        dep += 1
    out = root / "out"
    out.mkdir()
    (out / "Dockerfile").write_text("FROM scratch\n")
    return written + 1


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def best_of(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mab-bench-") as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        print(f"building a {options.files:,}-file tree in {root} ...", file=sys.stderr)
        total = build_tree(root, options.files)
        git(root, "init", "-q")
        git(root, "add", "-A")
        tracked = len(git(root, "ls-files").splitlines())
        project = detect(root)
        detect_s = best_of(options.runs, lambda: detect(root))
        ls_files_s = best_of(options.runs, lambda: git(root, "ls-files"))
    print(f"tree: {total:,} files, {tracked:,} tracked by git; best of {options.runs} runs")
    print(f"detected: {len(project.images)} images, {len(project.lockfiles)} lockfiles")
    print()
    print(f"{'what':<16}{'seconds':>10}")
    print(f"{'mab detect':<16}{detect_s:>10.3f}")
    print(f"{'git ls-files':<16}{ls_files_s:>10.3f}")
    print(f"{'ratio':<16}{detect_s / ls_files_s:>9.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
