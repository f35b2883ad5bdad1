"""The JSON Schema of `.mab.yml` for editors, generated from the declaration in
`mab.config.settings` and committed as `mab/config/mab.schema.json` (package data; a test keeps
it current). Regenerate it with `python -m mab.config.schema`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from mab.config.distribution import REPOSITORY_URL
from mab.config.file import schema_url
from mab.config.settings import CONFIG_FILE, Settings

SCHEMA_PATH = Path(__file__).with_name("mab.schema.json")


def schema() -> dict[str, Any]:
    generated = msgspec.json.schema(Settings)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_url(REPOSITORY_URL),
        "title": CONFIG_FILE,
        "description": "mab's settings: written by `mab init-ci`, read by `mab init-ci` and "
        "`mab build`",
        **generated,
    }


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
