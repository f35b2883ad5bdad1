"""Write a summary as JSON and Markdown, never over an existing file."""

from __future__ import annotations

import json
from pathlib import Path

from mab.progress.summary import Summary, render_markdown

STEM = "mab-summary"


def _free_stem(directory: Path) -> str:
    n = 1
    stem = STEM
    while (directory / f"{stem}.json").exists() or (directory / f"{stem}.md").exists():
        n += 1
        stem = f"{STEM}-{n}"
    return stem


def export_summary(summary: Summary, directory: Path) -> tuple[Path, Path]:
    """`mab-summary.json` and `.md` in `directory` (`-2`, `-3`... when taken)."""
    stem = _free_stem(directory)
    json_path = directory / f"{stem}.json"
    md_path = directory / f"{stem}.md"
    json_path.write_text(json.dumps(summary.to_json(), indent=2) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(summary), encoding="utf-8")
    return json_path, md_path
