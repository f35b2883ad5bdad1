"""Where one build's metrics go: `--metrics-file` and `--pushgateway`, checked before the build
(a bad path or URL costs no build time) and written after it, whatever its outcome."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mab.errors import MabError
from mab.history.capture import imports_of
from mab.history.why import import_failures
from mab.metrics import push, textfile
from mab.metrics.build import BuildFacts, misses_by_cause, registry_for
from mab.progress.model import BuildModel
from mab.progress.summary import Summary


@dataclass(frozen=True)
class MetricsOutputs:
    metrics_file: Path | None = None
    pushgateway: str | None = None

    @property
    def wanted(self) -> bool:
        return self.metrics_file is not None or self.pushgateway is not None

    def check(self) -> None:
        """Raise `UserError` before the build for a path or URL that cannot work."""
        if self.metrics_file is not None:
            textfile.check_target(self.metrics_file)
        if self.pushgateway is not None:
            push.check_url(self.pushgateway)

    def emit(self, summary: Summary, facts: BuildFacts, warn: Callable[[str], None]) -> None:
        """Write the file and push. Neither fails the build: the paths were checked before it
        ran, and what still goes wrong (a full disk, a gateway that is down) is a warning."""
        if not self.wanted:
            return
        registry = registry_for(summary, facts)
        if self.metrics_file is not None:
            try:
                textfile.write(self.metrics_file, registry)
            except MabError as exc:
                warn(f"metrics: {exc.message}")
        if self.pushgateway is not None:
            platforms = tuple(p.platform for p in summary.platforms)
            grouping = push.grouping_key(facts.image, platforms)
            failed = push.push(self.pushgateway, registry, grouping)
            if failed is not None:
                where = push.check_url(self.pushgateway)
                warn(f"metrics: pushing to {where} failed: {failed}")


def emit_build(
    outputs: MetricsOutputs,
    image: str | None,
    summary: Summary,
    model: BuildModel,
    warn: Callable[[str], None],
) -> None:
    """A finished build's metrics out; `summary` carries the history's causes, so misses are
    counted by cause."""
    platforms = [p.platform for p in summary.platforms]
    facts = BuildFacts(
        image=image,
        finished_at=time.time(),
        cache_import_failures=import_failures(imports_of(model), platforms),
        misses_by_cause=misses_by_cause(summary),
    )
    outputs.emit(summary, facts, warn)
