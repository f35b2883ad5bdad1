"""Where one build's metrics go: `--metrics-file` and `--pushgateway`, checked before the build
(a bad path or URL costs no build time) and written after it, whatever its outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mab.metrics import push, textfile
from mab.metrics.build import BuildFacts, registry_for
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
        """Write the file (an OS error raises) and push (a failed push is a warning)."""
        if not self.wanted:
            return
        registry = registry_for(summary, facts)
        if self.metrics_file is not None:
            textfile.write(self.metrics_file, registry)
        if self.pushgateway is not None:
            platforms = tuple(p.platform for p in summary.platforms)
            grouping = push.grouping_key(facts.image, platforms)
            failed = push.push(self.pushgateway, registry, grouping)
            if failed is not None:
                where = push.check_url(self.pushgateway)
                warn(f"mab: warning: pushing metrics to {where} failed: {failed}")
