"""`mab init-ci` on a compose file of many services, against parsing the same file.

Writes a repository with one Dockerfile and a `compose.yaml` of N services, each a build of
its own (the same context, a build arg of its own), then times `mab init-ci --dry-run
--github` in this process: detection, the settings, then GitHub's refusal of a matrix of
that many jobs (exit 2), the path a user of such a repository meets; beside it the baseline,
`yaml.load` (libyaml's CSafeLoader) of the same compose file alone. Detection compared every
service with every other (20k services: 71 s); it is linear now. CPU seconds (the machine is
shared), best of `--runs`.

`--gitlab` also times `--gitlab`, which writes the whole pipeline (one job per image): linear
too, but 20k jobs emitted by ruamel.yaml take minutes.

    python3 benchmarks/compose_scale.py [--services 2000,8000,20000] [--runs 1] [--gitlab]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from mab.cli import main


def write_repo(root: Path, services: int) -> Path:
    (root / "Dockerfile").write_text("FROM busybox\nARG N\nRUN echo $N\n")
    lines = ["services:"]
    for i in range(services):
        lines += [f"  svc{i}:", "    build:", "      context: .", "      args:"]
        lines.append(f'        N: "{i}"')
    compose = root / "compose.yaml"
    compose.write_text("\n".join(lines) + "\n")
    return compose


def best_of(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        action()
        times.append(time.process_time() - start)
    return min(times)


def init_ci(root: Path, provider: str) -> None:
    argv = ["init-ci", "--dry-run", provider, "--image", "reg.example/app", str(root)]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(argv)
        except SystemExit as exc:
            assert exc.code in (0, 2, None), exc.code  # 2: GitHub's matrix limit


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", default="2000,8000,20000")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--gitlab", action="store_true")
    args = parser.parse_args()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    providers = ["--github", *(["--gitlab"] if args.gitlab else [])]
    head = "".join(f" {'init-ci ' + p[2:]:>15} {'ratio':>6}" for p in providers)
    print(f"{'services':>9} {'yaml.load':>10}{head}   (CPU seconds)")
    for count in (int(n) for n in args.services.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            text = write_repo(root, count).read_text()
            parse_s = best_of(args.runs, lambda text=text: yaml.load(text, Loader=loader))
            row = f"{count:>9} {parse_s:>9.2f}s"
            for provider in providers:
                mab_s = best_of(args.runs, lambda r=root, p=provider: init_ci(r, p))
                row += f" {mab_s:>14.2f}s {mab_s / parse_s:>5.1f}x"
        print(row)


if __name__ == "__main__":
    main_()
