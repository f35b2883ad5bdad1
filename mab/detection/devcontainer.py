"""Dev containers: the files that build a development environment, not an image that ships.
Pure: `dev_files` takes the texts of the `devcontainer.json` files found.

Everything under a `.devcontainer/` folder, and every compose file and Dockerfile a
`devcontainer.json` (or `.devcontainer.json`) names through `dockerComposeFile`,
`build.dockerfile` or `dockerFile`, paths relative to the JSON file's folder.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

DEVCONTAINER_FILES = frozenset({"devcontainer.json", ".devcontainer.json"})
_COMMENT = re.compile(r'"(?:[^"\\]|\\.)*"|//[^\n]*|/\*.*?\*/', re.DOTALL)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def in_devcontainer_dir(path: str) -> bool:
    return ".devcontainer" in path.split("/")[:-1]


def _jsonc(text: str) -> Any:
    """JSON with comments and trailing commas, as dev containers allow."""
    stripped = _COMMENT.sub(lambda m: m.group(0) if m.group(0).startswith('"') else "", text)
    try:
        return json.loads(_TRAILING_COMMA.sub(r"\1", stripped))
    except ValueError:
        return None


def dev_files(configs: dict[str, str]) -> dict[str, str]:
    """Repo-relative path -> the devcontainer.json naming it, for each compose file and
    Dockerfile a dev container builds."""
    named: dict[str, str] = {}
    for path, text in sorted(configs.items()):
        data = _jsonc(text)
        if not isinstance(data, dict):
            continue
        folder = posixpath.dirname(path)
        compose = data.get("dockerComposeFile")
        paths = [compose] if isinstance(compose, str) else list(compose or [])
        build = data.get("build")
        if isinstance(build, dict):
            paths.append(build.get("dockerfile") or build.get("dockerFile"))
        paths.append(data.get("dockerFile"))
        for item in paths:
            if isinstance(item, str) and item:
                named[posixpath.normpath(posixpath.join(folder, item))] = path
    return named
