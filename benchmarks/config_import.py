"""What reading `.mab.yml` costs at start-up: the wall time of a fresh Python that imports
`mab.config.file` (msgspec and the declaration included), beside named baselines measured in
the same run, interleaved, best of N.

    python benchmarks/config_import.py [--runs 15]

- `python -c pass`: the interpreter alone;
- `yamlio`: `mab.files.yamlio`, what reading the file needed before the declaration;
- `mab.config.file`: today's reader (msgspec + the Structs);
- `pydantic (not used)`: the same reader plus pydantic and a model of the same shape, the
  alternative weighed in `mab/config/settings.py`'s docstring.

Prints each figure and its ratio to `yamlio`. Figures only; nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

PYDANTIC_MODEL = """
from typing import Literal
from pydantic import BaseModel, ConfigDict
class Github(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    workflow: str = "mab"
    runners: dict[str, str] = {}
class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: Literal[1] = 1
    strategy: Literal["native", "qemu"] = "native"
    cache: Literal["registry", "gha", "local", "s3"] = "registry"
    github: Github = Github()
"""

CASES = {
    "python -c pass": "pass",
    "yamlio": "import mab.files.yamlio",
    "mab.config.file": "import mab.config.file",
    "pydantic (not used)": "import mab.config.file\n" + PYDANTIC_MODEL,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    best = dict.fromkeys(CASES, float("inf"))
    for _ in range(args.runs):
        for name, code in CASES.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            best[name] = min(best[name], time.perf_counter() - start)
    print(f"best of {args.runs} runs; load average {os.getloadavg()[0]:.2f}")
    for name, seconds in best.items():
        print(f"{name:22} {seconds * 1000:7.1f} ms  {seconds / best['yamlio']:5.2f}x yamlio")


if __name__ == "__main__":
    main()
