"""What every build run does with its history (`mab.run.session` calls it, whatever displays it):

1. `BuildHistory.start(req, image, builder, driver)` before buildx runs: hashes the COPY/ADD
   sources, and fetches the build record beside each registry cache the build imports;
2. `finish(model, duration)` after it ends: the record, each missed step's cause (against the
   record of the cache it imported or the last comparable local build, the newer of the two),
   stored in the history database; `annotate(summary)` puts the causes into the summary;
3. `publish()`: after a build that exported a registry cache, its record goes beside it.

History never fails a build: a problem becomes a notice (`notices`) and the build goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from mab.engine.buildcmd import BuildRequest
from mab.errors import MabError
from mab.history.capture import BuildInputs, record_of
from mab.history.record import BuildRecord
from mab.history.remote import (
    fetch_record,
    parse_ref,
    platform_of,
    push_record,
    registry_refs,
)
from mab.history.store import HistoryStore, default_path
from mab.history.why import Why, comparable, explain
from mab.progress.model import BuildModel, Kind, StepState
from mab.progress.summary import PlatformSummary, StepSummary, Summary

Notice = Callable[[str], None]


@dataclass
class BuildHistory:
    inputs: BuildInputs | None
    path: Path | None
    notice: Notice
    fetched: dict[str, BuildRecord] = field(default_factory=dict)  # platform -> cache's record
    record: BuildRecord | None = None
    whys: dict[str, dict[str, Why]] = field(default_factory=dict)
    build_id: int | None = None

    @classmethod
    def start(
        cls,
        req: BuildRequest,
        image: str | None,
        *,
        builder: str = "",
        driver: str = "",
        history: str | None = None,
        notice: Notice,
        fetch: bool = True,
    ) -> BuildHistory:
        path = default_path(history)
        try:
            inputs: BuildInputs | None = BuildInputs.before(req, image, builder, driver)
        except (OSError, ValueError) as exc:
            notice(f"history: cannot fingerprint the build's inputs: {exc}")
            inputs = None
        session = cls(inputs, path, notice)
        if fetch and not req.no_cache:
            session._fetch(req)
        return session

    def _fetch(self, req: BuildRequest) -> None:
        from mab.registry.client import RegistryClient

        for text in registry_refs(req.cache_from):
            ref = parse_ref(text)
            if ref is None:
                continue
            platform = platform_of(text, req.platforms)
            try:
                with RegistryClient(ref.registry) as client:
                    got = fetch_record(client, ref)
            except MabError as exc:
                self.notice(f"history: {exc.message}")
                continue
            if got.record is None:
                continue
            self.notice(f"history: {got.notice}")
            for p in (platform,) if platform else req.platforms:
                if p in got.record.platforms:
                    self.fetched.setdefault(p, got.record)

    def finish(self, model: BuildModel, duration_s: float | None) -> BuildRecord | None:
        return self._record(model, duration_s)

    def _record(self, model: BuildModel, duration_s: float | None) -> BuildRecord | None:
        if self.inputs is None:
            return None
        record = record_of(self.inputs, model, duration_s)
        store = self._open()
        previous: dict[str, BuildRecord | None] = {}
        try:
            for p in record.platforms:
                local = store.previous(record, p) if store is not None else None
                remote = self.fetched.get(p)
                if remote is not None and not comparable(record, remote, p):
                    self.notice(
                        f"history: the build record beside the cache ({p}) is of another "
                        "Dockerfile or target; not compared with"
                    )
                    remote = None
                chosen = (
                    remote
                    if local is None or (remote and remote.started_at > local.started_at)
                    else local
                )
                previous[p] = chosen
            against = {w.uid for w in previous.values() if w is not None}
            record = replace(record, against=",".join(sorted(against)))
            self.whys = explain(record, previous)
            self.record = record
            if store is not None:
                for fetched in {r.uid: r for r in self.fetched.values()}.values():
                    if not store.has(fetched.uid):
                        store.add(fetched)
                self.build_id = store.add(record, self.whys)
        except MabError as exc:
            self.notice(f"history: {exc.message}")
        finally:
            if store is not None:
                store.close()
        return self.record

    def _open(self) -> HistoryStore | None:
        if self.path is None:
            return None
        try:
            return HistoryStore.open(self.path)
        except MabError as exc:
            self.notice(f"history: {exc.message} (the build is not recorded)")
            return None

    def publish(self, model: BuildModel, cache_to: tuple[str, ...]) -> None:
        """Push the record beside every registry cache this build exported."""
        if self.record is None or self.record.outcome != "succeeded":
            return
        if any(
            v.kind is Kind.CACHE_EXPORT and v.state is StepState.ERROR for v in model.vertices()
        ):
            self.notice("history: the cache export failed; no build record pushed")
            return
        from mab.registry.client import RegistryClient

        for text in registry_refs(cache_to):
            ref = parse_ref(text)
            if ref is None:
                continue
            platform = platform_of(text, self.record.platforms)
            record = self.record
            if platform is not None:
                record = replace(
                    record, platforms=(platform,), steps=record.platform_steps(platform)
                )
            try:
                with RegistryClient(ref.registry) as client:
                    self.notice(f"history: {push_record(client, ref, record)}")
            except MabError as exc:
                self.notice(f"history: no build record pushed beside {ref}: {exc.message}")

    def annotate(self, summary: Summary) -> Summary:
        return annotate(summary, self.whys)


def annotate(summary: Summary, whys: Mapping[str, Mapping[str, Why]]) -> Summary:
    """The summary with `why` on every missed step (and on each platform's first miss)."""
    if not whys:
        return summary

    def with_why(step: StepSummary) -> StepSummary:
        found = {
            p: w.to_json()
            for p in step.platforms
            if (w := whys.get(p, {}).get(f"{step.stage}#{step.index}")) is not None
        }
        return replace(step, why=found) if found else step

    def platform(p: PlatformSummary) -> PlatformSummary:
        if p.first_miss is None:
            return p
        return replace(p, first_miss=with_why(p.first_miss))

    return replace(
        summary,
        steps=tuple(with_why(s) for s in summary.steps),
        platforms=tuple(platform(p) for p in summary.platforms),
        slowest=tuple(with_why(s) for s in summary.slowest),
    )
