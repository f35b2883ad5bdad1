"""Where mab itself comes from: its distribution name and the repository of its composite action.

mab is published as `mab-multiarch` (the name `mab` on PyPI belongs to another project); the
command and the import package are `mab`. The action that `mab init-ci --use-action` refers to
lives in mab's own repository, which the package's metadata names (`[project.urls] Repository`
in pyproject.toml), read at run time so a fork that changes its metadata refers to its own
action. A `.mab.yml` (`github: action:`) or `--action` value overrides it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata

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


def repository_url() -> str:
    """mab's repository URL, from the installed package's metadata (the built-in copy of it
    when the metadata cannot be read)."""
    try:
        urls = metadata.metadata(DISTRIBUTION).get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        urls = []
    for entry in urls:
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
