"""Everything one build run was asked to do, decided once and passed whole (`RunOptions`).

Flags, `.mab.yml`, the git state and the defaults are read by the command once
(`mab.run.plan`); from here on every choice is a typed field: which caches the build reads and
which it writes, whether its build record is pushed, where its history and metrics go, whether
its raw stream is recorded. A replay's options say none of that (`RunOptions()`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mab.engine.buildcmd import BuildRequest
from mab.engine.docker import StdoutMode
from mab.metrics.outputs import MetricsOutputs

__all__ = ["HistoryOptions", "RunOptions"]


@dataclass(frozen=True)
class HistoryOptions:
    """Where the run is recorded and compared: the database (`--history PATH`, else
    `$MAB_HISTORY`, else the default), the image whose builds it is among, the builder."""

    path: str | None = None
    image: str | None = None
    builder: str = ""
    driver: str = ""


@dataclass(frozen=True)
class RunOptions:
    request: BuildRequest = field(default_factory=BuildRequest)
    live: bool = False  # a build that runs here (its exports can be read back), not a replay
    record: Path | None = None  # keep the raw stream there, with mab's header and trailer
    history: HistoryOptions | None = None  # None: the run is not recorded in any history
    metrics: MetricsOutputs = field(default_factory=MetricsOutputs)
    default_platform: str | None = None  # the platform of a stream that names none
    # After a successful build, one cache-only export per (platform, spec): `--ci` with
    # per-platform caches and several platforms (a build has one `--cache-to`).
    after_exports: tuple[tuple[str, str], ...] = ()
    publish_record: bool = False  # push the build record beside each registry cache written
    buildx_stdout: StdoutMode = "inherit"  # where buildx's own stdout goes
    export_dir: Path | None = None  # where the TUI's `e` writes (None: mab's state folder)
    image: str | None = None  # the image this build is (for the TUI's title and history)
    emulated: tuple[str, ...] = ()  # platforms the builder runs through QEMU, not natively
    nodes: tuple[str, ...] = ()  # builder nodes the run spreads over (empty: one buildx)
    docker: str = "docker"

    @property
    def platforms(self) -> tuple[str, ...]:
        return self.request.platforms

    @property
    def cache_reads(self) -> tuple[str, ...]:
        """The cache refs the build imports, as named by the user, `.mab.yml` or CI."""
        return () if self.request.no_cache else self.request.cache_from

    @property
    def cache_writes(self) -> tuple[str, ...]:
        """The cache refs the build exports (its `--cache-to`, then any per-platform ones)."""
        return (*self.request.cache_exports, *(spec for _, spec in self.after_exports))

    @property
    def reads_stdin(self) -> bool:
        """`docker buildx build -` (or `-f -`) reads the context or Dockerfile from stdin."""
        return self.request.context == "-" or self.request.file == "-"
