"""Where mab itself comes from: its distribution name and the repository of its composite action.

mab is published as `mab-multiarch` (the name `mab` on PyPI belongs to another project); the
command and the import package are `mab`. The action that `mab init-ci --use-action` refers to
lives in mab's own repository, which the package's metadata names (`[project.urls] Repository`
in pyproject.toml), read at run time so a fork that changes its metadata refers to its own
action. A `.mab.yml` (`github: action:`) or `--action` value overrides it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from mab import __version__
from mab.errors import UserError

DISTRIBUTION = "mab-multiarch"
# The same URL as pyproject.toml's `[project.urls] Repository` (a test keeps them equal); used
# when the package metadata cannot be read (a source tree that was never installed).
REPOSITORY_URL = "https://github.com/mab-multiarch/mab"
ACTION_PATH = "actions/build"
_GITHUB = re.compile(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class ActionRef:
    """A `uses:` value for mab's composite action, and where it came from (said in the file)."""

    uses: str
    origin: str


def project_urls() -> list[str]:
    """The `Project-URL` fields of the installed distribution's metadata, found on `sys.path`
    as `importlib.metadata` finds it (the first `.dist-info` or `.egg-info` of the name). Read
    here directly: importing `importlib.metadata` and the email package it parses with would
    cost a fifth of a `mab init-ci --check` run."""
    name = DISTRIBUTION.replace("-", "_")
    for entry in sys.path:
        try:
            names = sorted(p.name for p in Path(entry or ".").iterdir())
        except OSError:
            continue
        for found in names:
            if found.startswith(f"{name}-") and found.endswith(".dist-info"):
                meta = Path(entry, found, "METADATA")
            elif found == f"{name}.egg-info":
                meta = Path(entry, found, "PKG-INFO")
            else:
                continue
            try:
                headers = meta.read_text("utf-8", errors="replace").split("\n\n", 1)[0]
            except OSError:
                continue
            return [
                line.partition(":")[2].strip()
                for line in headers.splitlines()
                if line.lower().startswith("project-url:")
            ]
    return []


def repository_url() -> str:
    """mab's repository URL, from the installed package's metadata (the built-in copy of it
    when the metadata cannot be read)."""
    for entry in project_urls():
        label, _, url = str(entry).partition(",")
        if label.strip().lower() == "repository" and _GITHUB.match(url.strip()):
            return url.strip()
    return REPOSITORY_URL


def default_action() -> ActionRef:
    """The action in mab's own repository, at the release of this mab."""
    url = repository_url()
    match = _GITHUB.match(url)
    assert match is not None
    owner, repo = match.groups()
    origin = f"the Repository URL of {DISTRIBUTION} ({url}), at this mab's release"
    return ActionRef(f"{owner}/{repo}/{ACTION_PATH}@v{__version__}", origin)


def given_action(uses: str, origin: str) -> ActionRef:
    """An action reference given by the user: `OWNER/REPO[/PATH]@REF`."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[\w./-]+", uses):
        raise UserError(
            f"{origin}: {uses!r} is not an action reference",
            hint=f"write it as OWNER/REPO/{ACTION_PATH}@REF, e.g. acme/mab/{ACTION_PATH}@v1.2.0",
        )
    return ActionRef(uses, origin)
