"""The one table of the actions a generated workflow uses: release tag and commit, per action.

Bump a version here and every generated workflow follows. A SHA is the commit the release tag
points to (annotated tags dereferenced). With `Settings.pin` the workflow says
`owner/repo@<sha>  # vX.Y.Z` (what zizmor's `unpinned-uses` audit asks for); without it,
`owner/repo@vX` (the major tag), with a note for zizmor's `unpinned-uses` audit saying why.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pin:
    repo: str  # owner/name
    version: str  # the release tag, "v7.0.1"
    sha: str  # the commit that tag points to

    @property
    def major(self) -> str:
        return self.version.split(".", 1)[0]


_TABLE = (
    Pin("actions/checkout", "v7.0.1", "3d3c42e5aac5ba805825da76410c181273ba90b1"),
    Pin("actions/cache", "v5.0.5", "27d5ce7f107fe9357f9df03efb73ab90386fccae"),
    Pin("actions/upload-artifact", "v7.0.0", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f"),
    Pin("actions/download-artifact", "v8.0.1", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c"),
    Pin("docker/setup-qemu-action", "v4.2.0", "96fe6ef7f33517b61c61be40b68a1882f3264fb8"),
    Pin("docker/setup-buildx-action", "v4.3.0", "37fe631027851001ddb9b187196cc803df7f5f0e"),
    Pin("docker/login-action", "v4.1.0", "4907a6ddec9925e35a0a9e82d7399ccc52663121"),
    Pin("docker/metadata-action", "v6.2.0", "dc802804100637a589fabce1cb79ff13a1411302"),
    Pin("docker/build-push-action", "v7.3.0", "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a"),
    Pin("sigstore/cosign-installer", "v4.1.2", "6f9f17788090df1f26f669e9d70d6ae9567deba6"),
    Pin(
        "actions/attest-build-provenance",
        "v4.1.0",
        "a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32",
    ),
    Pin(
        "reproducible-containers/buildkit-cache-dance",
        "v3.2.0",
        "653a570f730e3b9460adc576db523788ba59a0d7",
    ),
)
PINS: dict[str, Pin] = {p.repo: p for p in _TABLE}


# Said beside each major-tag reference, so the choice is visible where zizmor would flag it.
UNPINNED_REASON = "major tags chosen with `pin: false` in .mab.yml"


@dataclass(frozen=True)
class Uses:
    """A `uses:` value, and the version to show beside it when the value is a SHA."""

    ref: str
    version: str | None
    pinned: bool


def uses(action: str, *, pin: bool) -> Uses:
    """The `uses:` of `action` ("actions/cache/restore": sub-actions share their repo's pin)."""
    owner, name, *_ = action.split("/")
    entry = PINS[f"{owner}/{name}"]
    if pin:
        return Uses(f"{action}@{entry.sha}", entry.version, pinned=True)
    return Uses(f"{action}@{entry.major}", None, pinned=False)
