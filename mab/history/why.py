"""Why a step missed the cache: a build's steps against the previous comparable build. Pure.

For each step of a platform that ran (or failed while running), the first cause that holds,
most specific first:

1. `cache_disabled`: `--no-cache`, or `--no-cache-filter` naming the step's stage;
2. `sources_changed`: a COPY/ADD took other context files (`src/app.py changed, 2 added`);
3. `arg_changed`: a build arg the step sees changed (`DEPS_WORK: 120000 → 240000`), or the
   `--target` changed and the build compared with never built the step's stage (it has the
   same target when there is one, see `HistoryStore.previous`);
4. `base_moved`: its stage's FROM resolved to another digest;
5. `instruction_changed`: its own text (or an ENV/USER/SHELL line before it) changed;
6. `parent_missed`: a step it builds on missed; `root` names the step where the chain began;
7. `cache_unavailable`: nothing it depends on changed, yet the cache did not have it: a cache
   import failed (ref not found), another builder or driver, no earlier build for this platform,
   or the same builder no longer holds it (pruned or garbage-collected);
8. `unknown`: there is nothing to compare with, or inputs mab cannot see may have changed.

Without an earlier build only 1, 6 and 7 (a failed import) can be told; the rest is `unknown`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from mab.history.record import BuildRecord, CacheImport, StepInputs, StepRecord

Cause = Literal[
    "cache_disabled",
    "sources_changed",
    "arg_changed",
    "base_moved",
    "instruction_changed",
    "parent_missed",
    "cache_unavailable",
    "unknown",
]
CAUSES: tuple[Cause, ...] = get_args(Cause)  # most specific first
MAX_NAMED_FILES = 3


@dataclass(frozen=True, slots=True)
class Why:
    cause: Cause
    detail: str
    root: str = ""  # parent_missed: the label of the step where the misses began
    against: str = ""  # uid of the build compared with ("" when there was none)

    @property
    def text(self) -> str:
        """`parent missed: deps 2/2 RUN make missed (the misses began at deps 1/2 COPY ...)`"""
        began = f" (the misses began at {self.root})" if self.root not in self.detail else ""
        return f"{self.cause.replace('_', ' ')}: {self.detail}{began}"

    def to_json(self) -> dict[str, Any]:
        out = {"cause": self.cause, "detail": self.detail}
        if self.root:
            out["root"] = self.root
        if self.against:
            out["against"] = self.against
        return out


def comparable(build: BuildRecord, other: BuildRecord, platform: str) -> bool:
    """Whether `other` may explain `build` on `platform`: a build of the same Dockerfile (path
    and stage graph), target and platform. A record without a Dockerfile key (stored by an
    older mab) compares with nothing."""
    return (
        bool(build.dockerfile_key)
        and other.dockerfile_key == build.dockerfile_key
        and other.target == build.target
        and platform in other.platforms
    )


def explain(
    build: BuildRecord, previous: Mapping[str, BuildRecord | None]
) -> dict[str, dict[str, Why]]:
    """Per platform, per step id: why each missed step missed. `previous` maps a platform to
    the build it is compared with (the build that wrote the imported cache, else the last
    comparable local build), None when there is none."""
    return {p: explain_platform(build, p, previous.get(p)) for p in build.platforms}


def explain_platform(build: BuildRecord, platform: str, prev: BuildRecord | None) -> dict[str, Why]:
    steps = {s.id: s for s in build.platform_steps(platform)}
    before = {s.id: s for s in prev.platform_steps(platform)} if prev is not None else {}
    against = prev.uid if prev is not None else ""
    out: dict[str, Why] = {}

    def why(sid: str) -> Why | None:
        if sid in out:
            return out[sid]
        step = steps.get(sid)
        if step is None or not step.missed:
            return None
        result = _first_cause(build, platform, prev, step, before.get(sid), steps, why)
        out[sid] = Why(result.cause, result.detail, result.root, against)
        return out[sid]

    for sid in steps:
        why(sid)
    return out


def first_misses(
    build: BuildRecord, whys: Mapping[str, Mapping[str, Why]]
) -> dict[str, tuple[StepRecord, Why] | None]:
    """Per platform: its first missed instruction (not FROM) and why, or None."""
    out: dict[str, tuple[StepRecord, Why] | None] = {}
    for platform in build.platforms:
        out[platform] = None
        for step in build.counted(platform):
            found = whys.get(platform, {}).get(step.id)
            if step.missed and found is not None:
                out[platform] = (step, found)
                break
    return out


# ------------------------------------------------------------------------------ the causes


def _first_cause(
    build: BuildRecord,
    platform: str,
    prev: BuildRecord | None,
    step: StepRecord,
    old: StepRecord | None,
    steps: Mapping[str, StepRecord],
    why: Any,
) -> Why:
    if build.no_cache:
        return Why("cache_disabled", "the build ran with --no-cache")
    if step.stage and step.stage in build.no_cache_filter:
        return Why("cache_disabled", f"--no-cache-filter names stage {step.stage!r}")
    mine, theirs = step.inputs, old.inputs if old is not None else None
    if mine is not None and theirs is not None:
        changed = sources_changed(mine, theirs) or _args(mine, theirs)
        if changed is not None:
            return changed
    if old is not None:
        moved = _base(step, steps, prev, platform)
        if moved is not None:
            return moved
        if _norm(old.instruction) != _norm(step.instruction):
            return Why("instruction_changed", f"was: {_short(old.instruction)}")
        if mine is not None and theirs is not None and mine.own != theirs.own:
            return Why("instruction_changed", "an ENV, USER or SHELL line before it changed")
    parent = _missed_parent(step, steps, why)
    if parent is not None:
        root = parent[1].root if parent[1].cause == "parent_missed" else parent[0].label
        return Why("parent_missed", f"{parent[0].label} missed", root)
    if prev is not None and old is None and step.index:
        if prev.target != build.target and all(
            s.stage != step.stage for s in prev.platform_steps(platform)
        ):
            targets = f"{_target(prev.target)} → {_target(build.target)}"
            return Why("arg_changed", f"--target {targets}: stage {step.stage} was not built then")
        return Why("instruction_changed", "no step at this position in the build compared with")
    return _unavailable(build, platform, prev, step, old)


def sources_changed(mine: StepInputs, theirs: StepInputs) -> Why | None:
    """The context files a COPY/ADD took that changed, were added or removed, named."""
    if not mine.files_digest or mine.files_digest == theirs.files_digest:
        return None
    if mine.files is None or theirs.files is None:
        return Why(
            "sources_changed", f"its {mine.file_count} context files changed (too many to list)"
        )
    old, new = dict(theirs.files), dict(mine.files)
    changed = sorted(p for p in new if p in old and old[p] != new[p])
    added = sorted(p for p in new if p not in old)
    removed = sorted(p for p in old if p not in new)
    parts = []
    if changed:
        parts.append(_files(changed) + " changed")
    if added:
        parts.append(_count(added, "added"))
    if removed:
        parts.append(_count(removed, "removed"))
    return Why("sources_changed", ", ".join(parts) or "its context files changed")


def _files(paths: list[str]) -> str:
    shown = ", ".join(paths[:MAX_NAMED_FILES])
    more = len(paths) - MAX_NAMED_FILES
    return shown + (f" and {more} more" if more > 0 else "")


def _count(paths: list[str], what: str) -> str:
    if len(paths) <= MAX_NAMED_FILES:
        return f"{_files(paths)} {what}"
    return f"{len(paths)} files {what} ({_files(paths)})"


def _args(mine: StepInputs, theirs: StepInputs) -> Why | None:
    old, new = dict(theirs.args), dict(mine.args)
    names = sorted(n for n in old.keys() | new.keys() if old.get(n) != new.get(n))
    if not names:
        return None
    parts = []
    for name in names:
        a, b = old.get(name), new.get(name)
        if (a or "").startswith("sha256:") or (b or "").startswith("sha256:"):
            parts.append(f"{name} changed (its values are not kept)")
        else:
            parts.append(f"{name}: {_value(a)} → {_value(b)}")
    return Why("arg_changed", "; ".join(parts))


def _target(target: str) -> str:
    return target or "(the last stage)"


def _value(value: str | None) -> str:
    return "(unset)" if value is None else repr(value) if value == "" else value


def _base(
    step: StepRecord, steps: Mapping[str, StepRecord], prev: BuildRecord | None, platform: str
) -> Why | None:
    """The step sits right on a FROM whose resolved image changed."""
    if prev is None or step.is_from:
        return None
    parent_ids = step.inputs.parents if step.inputs is not None else (f"{step.stage}#1",)
    if step.inputs is None and step.index != 2:
        return None
    before = {s.id: s for s in prev.platform_steps(platform)}
    for pid in parent_ids:
        now, then = steps.get(pid), before.get(pid)
        if now is None or then is None or not now.is_from or not then.is_from:
            continue
        if _norm(now.instruction) != _norm(then.instruction):
            ref_now, _, digest_now = now.instruction[5:].strip().partition("@")
            ref_then, _, digest_then = then.instruction[5:].strip().partition("@")
            if ref_now == ref_then and digest_now and digest_then:
                return Why(
                    "base_moved",
                    f"{ref_now} moved: {_short_digest(digest_then)} → {_short_digest(digest_now)}",
                )
            return Why(
                "base_moved", f"FROM {_short(then.instruction[5:])} → {_short(now.instruction[5:])}"
            )
    return None


def _missed_parent(
    step: StepRecord, steps: Mapping[str, StepRecord], why: Any
) -> tuple[StepRecord, Why] | None:
    parent_ids = step.inputs.parents if step.inputs is not None else _guess_parents(step)
    for pid in parent_ids:
        parent = steps.get(pid)
        if parent is None or parent.is_from:
            continue
        found = why(pid)
        if found is not None:
            return parent, found
    return None


def _guess_parents(step: StepRecord) -> tuple[str, ...]:
    """Without a fingerprint: the previous step of the same stage."""
    return (f"{step.stage}#{step.index - 1}",) if step.index > 1 else ()


def _unavailable(
    build: BuildRecord,
    platform: str,
    prev: BuildRecord | None,
    step: StepRecord,
    old: StepRecord | None,
) -> Why:
    failed = [i for i in build.imports if i.failed and _for_platform(i.ref, platform)]
    if failed:
        first = failed[0]
        return Why("cache_unavailable", f"importing the cache {first.ref} failed: {_reason(first)}")
    if prev is None:
        return Why("unknown", no_comparable(build, platform))
    mine, theirs = step.inputs, old.inputs if old is not None else None
    complete = mine is not None and theirs is not None and mine.complete
    complete = complete and mine is not None and theirs is not None and mine.digest == theirs.digest
    if prev.source == "registry":
        if complete:
            return Why(
                "unknown",
                "its inputs match the build that wrote the cache, yet the cache did not have it",
            )
        return Why("unknown", "no change mab can see since the build that wrote the cache")
    if (
        prev.builder
        and build.builder
        and (prev.builder, prev.driver) != (build.builder, build.driver)
    ):
        return Why(
            "cache_unavailable",
            f"another builder: {prev.builder} ({prev.driver}) → {build.builder} ({build.driver})",
        )
    if complete:
        return Why(
            "cache_unavailable",
            f"its inputs are unchanged since the build compared with on builder "
            f"{build.builder or '?'}: the builder no longer holds it (pruned or garbage-collected)",
        )
    return Why("unknown", "no change mab can see (the step has inputs mab does not fingerprint)")


def _reason(imp: CacheImport) -> str:
    """The import's error, whole, without BuildKit's preamble that repeats the ref."""
    error = " ".join(imp.error.split())
    _, found, rest = error.partition(f"{imp.ref}: ")
    return rest if found and rest else error


def no_comparable(build: BuildRecord, platform: str) -> str:
    """What was looked for when no earlier build compares with `build` on `platform`."""
    looked = (
        f"no comparable build: none earlier of {build.dockerfile or 'Dockerfile'} "
        f"(target {_target(build.target)}) for {platform}"
    )
    missing = [i.ref for i in build.imports if i.missing and _for_platform(i.ref, platform)]
    if missing:
        looked += f"; no cache yet at {missing[0]} (a first build)"
    return looked


@dataclass(frozen=True, slots=True)
class Unfinished:
    """A step that did not finish: it failed, was canceled, or never ran. Never a hit."""

    step: StepRecord
    reason: str

    @property
    def text(self) -> str:
        return f"did not finish: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step.label, "state": self.step.state, "reason": self.reason}


def unfinished(build: BuildRecord, platform: str) -> tuple[Unfinished, ...]:
    """The platform's steps that did not finish, each with the reason: a step canceled while
    another platform failed was canceled because of that failure."""
    failures = [
        s
        for p in build.platforms
        if p != platform
        for s in build.platform_steps(p)
        if s.state == "failed"
    ]
    elsewhere = (
        f"canceled because {failures[0].platform} failed at {failures[0].label}"
        if failures
        else f"canceled (the build {build.outcome})"
    )
    reasons = {
        "failed": "it failed",
        "canceled": elsewhere,
        "pending": f"it never ran (the build {build.outcome} first)",
    }
    return tuple(
        Unfinished(s, reasons[s.state])
        for s in build.platform_steps(platform)
        if s.state in reasons
    )


def import_failures(imports: Sequence[CacheImport], platforms: Sequence[str]) -> dict[str, int]:
    """Per platform: the cache imports that really failed for it. A ref that does not exist
    yet is no failure; a ref named for another platform (`buildcache-linux-arm64`) does not
    count for this one; a ref for no platform in particular counts for each."""
    return {p: sum(1 for i in imports if i.failed and _for_platform(i.ref, p)) for p in platforms}


def _for_platform(ref: str, platform: str) -> bool:
    """A cache ref named for another platform (`buildcache-linux-arm64`) does not count."""
    tag = ref.rsplit(":", 1)[-1] if ":" in ref.rsplit("/", 1)[-1] else ""
    if "buildcache-" not in tag:
        return True
    return platform.replace("/", "-") in tag


def _norm(text: str) -> str:
    return " ".join(text.split())


def _short(text: str, limit: int = 70) -> str:
    text = _norm(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short_digest(digest: str) -> str:
    return digest[:19] if digest.startswith("sha256:") else digest[:12]
