"""Write a run's summary as JSON and Markdown, named after what was built, never over an
existing file, into a folder outside the build context (a file written into the context would
make the next build's `COPY . .` miss): `--export-dir`, else mab's state folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

from platformdirs import user_state_dir

from mab.progress.summary import Summary, render_markdown

STEM = "mab-summary"


def default_export_dir() -> Path:
    return Path(user_state_dir("mab")) / "exports"


def _stem(title: str, run: int) -> str:
    """`mab-summary-localhost-5000-ref-app-dev-run1`: the build's title, safe as a file name."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", title).strip("-.")[:80]
    return f"{STEM}-{slug}-run{run}" if slug else f"{STEM}-run{run}"


def _free_stem(directory: Path, stem: str) -> str:
    n, free = 1, stem
    while (directory / f"{free}.json").exists() or (directory / f"{free}.md").exists():
        n += 1
        free = f"{stem}-{n}"
    return free


def export_summary(
    summary: Summary, directory: Path, title: str = "", run: int = 1
) -> tuple[Path, Path]:
    """`<stem>.json` and `<stem>.md` in `directory` (made when missing; `-2`, `-3`... when
    taken), the stem naming the build (`title`) and the run."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = _free_stem(directory, _stem(title, run))
    json_path = directory / f"{stem}.json"
    md_path = directory / f"{stem}.md"
    json_path.write_text(json.dumps(summary.to_json(), indent=2) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(summary), encoding="utf-8")
    return json_path, md_path
