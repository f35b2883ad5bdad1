"""How fast mab's quick commands start and finish, against a bare `python -c pass`.

    python benchmarks/startup.py [--runs 15]

Each command runs as a whole process (start-up, imports and its work), its output thrown away,
in turn with the baseline: A B A B ... so a drift in the machine's speed hits both alike; the
figure is the median of the pair-by-pair ratios, beside both medians in seconds. Targets:
`mab --version` and `mab --help` <= 3x; `mab lint Dockerfile` (one file) <= 5x;
`mab init-ci --check` on tests/e2e/project <= 6x. One more row, for information: `init-ci
--check` where the files are there and up to date (a pre-commit hook's usual case).

mab's modules are byte-compiled first, as `pip install` does; an environment with
PYTHONDONTWRITEBYTECODE (as this one may be) would otherwise compile them on every run.
Figures only; nothing here asserts.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "tests" / "e2e" / "project"


def mab_command() -> list[str]:
    """The `mab` console script beside this interpreter, as a user runs it."""
    script = Path(sys.executable).parent / "mab"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mab"]


def wall(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def paired(argv: list[str], cwd: Path, runs: int) -> tuple[float, float, float]:
    """Medians of (A seconds, baseline seconds, A / baseline pair by pair)."""
    baseline = [sys.executable, "-c", "pass"]
    wall(argv, cwd)  # warm the file cache
    wall(baseline, cwd)
    a, b, ratios = [], [], []
    for _ in range(runs):
        ta = wall(argv, cwd)
        tb = wall(baseline, cwd)
        a.append(ta)
        b.append(tb)
        ratios.append(ta / tb)
    return statistics.median(a), statistics.median(b), statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="pairs per command")
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "mab", quiet=1)
    mab = mab_command()
    load_before = os.getloadavg()[0]
    rows: list[tuple[str, float, float, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        lint_dir = Path(tmp) / "lint"
        lint_dir.mkdir()
        shutil.copy(PROJECT / "Dockerfile", lint_dir / "Dockerfile")
        written = Path(tmp) / "project"
        shutil.copytree(PROJECT, written)
        subprocess.run(
            [*mab, "init-ci", "--image", "localhost:5000/ref/app", "."],
            cwd=written,
            check=True,
            capture_output=True,
        )
        cases = [
            ("mab --version", [*mab, "--version"], ROOT, "<= 3"),
            ("mab --help", [*mab, "--help"], ROOT, "<= 3"),
            ("mab lint Dockerfile", [*mab, "lint", "Dockerfile"], lint_dir, "<= 5"),
            (
                "mab init-ci --check tests/e2e/project",
                [*mab, "init-ci", "--check", str(PROJECT)],
                ROOT,
                "<= 6",
            ),
            (
                "mab init-ci --check (files up to date)",
                [*mab, "init-ci", "--check", "."],
                written,
                "",
            ),
        ]
        for name, argv, cwd, target in cases:
            rows.append((name, *paired(argv, cwd, args.runs), target))
    load_after = os.getloadavg()[0]
    width = max(len(r[0]) for r in rows)
    print(f"{'command'.ljust(width)}  mab s   python -c pass s  ratio (median of pairs)  target")
    for name, a, b, ratio, target in rows:
        print(f"{name.ljust(width)}  {a:.3f}   {b:.3f}             {ratio:5.2f}x{'':17}{target}")
    print(
        f"({args.runs} pairs each; machine: {os.cpu_count()} CPUs, load average"
        f" {load_before:.1f} -> {load_after:.1f})"
    )


if __name__ == "__main__":
    main()
