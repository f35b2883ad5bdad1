"""The lint rules: an id, a name, why it matters (one line), and the fix mab applies or
documents. The checks live in mab/lint/checks.py; this is the catalogue they cite."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    why: str
    fix: str


RULES: tuple[Rule, ...] = (
    Rule(
        "MAB101",
        "cache-mount-missing",
        "a package manager installs without a cache mount: every cache miss downloads "
        "everything again, and CI cannot key a dependency cache on the lockfile",
        "`mab lint --fix` adds `--mount=type=cache,target=<the tool's cache dir>` to the RUN "
        "(the USER's home and uid/gid when it is not root; apt gets both apt directories with "
        "sharing=locked; pip's --no-cache-dir is dropped, uv gets UV_LINK_MODE=copy)",
    ),
    Rule(
        "MAB102",
        "source-before-install",
        "the whole source is copied before the dependency install: every source change "
        "re-runs the install",
        "copy the manifest and lockfile first, install, then `COPY . .`; `mab lint --fix` "
        "does it when the install needs nothing else (go mod download, pip -r, npm/yarn/pnpm "
        "without install scripts)",
    ),
    Rule(
        "MAB103",
        "volatile-arg-early",
        "a build arg or ENV that changes every build (a date, a commit SHA) is declared "
        "before expensive steps: every RUN after it misses the cache",
        "`mab lint --fix` moves an ARG down to just before its first use; an ENV is moved by "
        "hand (a build script may read it without naming it in the Dockerfile)",
    ),
    Rule(
        "MAB104",
        "add-url-without-checksum",
        "`ADD <url>` without --checksum: the download is fetched again to know whether it "
        "changed, and nothing pins what it contains",
        "add `--checksum=sha256:<digest>` (compute it once with `sha256sum`)",
    ),
    Rule(
        "MAB105",
        "apt-update-alone",
        "`apt-get update` in its own RUN: its layer is reused for ever, so a later install "
        "uses stale package lists",
        "`mab lint --fix` joins it to the install: `RUN apt-get update && apt-get install ...`",
    ),
    Rule(
        "MAB106",
        "context-lets-git-in",
        "`COPY . .` with no .dockerignore, or one that lets .git in: every commit changes "
        "the copied files and busts the layer and all after it",
        "add a .dockerignore listing `.git` and build outputs (not automatic: it changes what "
        "the image contains)",
    ),
    Rule(
        "MAB107",
        "install-per-target-platform",
        "a cross-compiling stage (FROM --platform=$BUILDPLATFORM) declares TARGET* args "
        "before a package install: the same install runs once per target platform",
        "`mab lint --fix` moves the `ARG TARGET...` declaration down to its first use",
    ),
)

BY_ID = {rule.id: rule for rule in RULES}
BY_NAME = {rule.name: rule for rule in RULES}


def rule_id(word: str) -> str | None:
    """The id of a rule named by its id or name (any case), or None."""
    key = word.strip()
    if key.upper() in BY_ID:
        return key.upper()
    rule = BY_NAME.get(key.lower())
    return rule.id if rule else None


@dataclass(frozen=True)
class Edit:
    """Replace physical lines [start, stop) with `new` (stop == start inserts)."""

    start: int
    stop: int
    new: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    rule: str  # a rule id
    path: str  # the Dockerfile, as given or relative to the linted root
    line: int  # 1-based
    message: str
    edits: tuple[Edit, ...] = field(default=())  # empty: no automatic fix

    @property
    def fixable(self) -> bool:
        return bool(self.edits)
