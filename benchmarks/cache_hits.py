"""Cold and warm multi-arch builds with registry caches: mab's per-platform refs against one
shared ref, on the real engine (`scripts/engine-up.sh`).

    python benchmarks/cache_hits.py [--platforms linux/amd64,linux/arm64]

The sequence of `tests/e2e/test_cache_hits.py`, timed, on the reference project
(tests/e2e/project; its lockfile and sources salted, and built on a copy of the base image
of its own, so that nothing built before or meanwhile by others can help):

- per-platform (the cache values `mab init-ci` writes, one job per platform): for each
  platform, on a fresh builder (`docker builder prune -af`), a cold build; then a source-only
  change; then a lockfile change. Each build runs `mab build --json` and pushes its image and
  its cache to the local registry.
- shared (the seed material's command): one two-platform build with
  `--cache-to/--cache-from type=registry,ref=<image>:buildcache,mode=max`, the same sequence.

Prints one table: per platform, the wall time of the cold build, of the warm build after the
source-only change, warm/cold, that warm build's hit ratio and how many dependency-stage steps
it took from the cache, and the lockfile change's time; a shared-ref build does both platforms
at once, so its times are that one build's. Then the CPU-bound install step (the `deps` stage's
RUN) natively and under QEMU, from the cold per-platform builds.

`--floor-only`: the cold builds, then per platform the warm build on a fresh runner beside the
floor (the same warm build on a builder that kept the cold build's local cache), warm ÷ floor,
and where the fixed cost goes: the durations of cache import, image export, push, cache export
and of the cache hits themselves, read from each build's recorded stream.

Figures only; nothing here asserts. The builder is the engine's own and is pruned before every
build: other builds on the same engine lose their local cache hits meanwhile. Wall times
include cache import and export and the push to the local registry; the load average printed
with the table says how busy the machine was.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mab.progress.names import Kind  # noqa: E402
from mab.progress.replay import model_of_recording  # noqa: E402
from mab.progress.steps import StepState  # noqa: E402
from tests import engine_env as engine_check  # noqa: E402
from tests.e2e.cachebuilds import (  # noqa: E402
    DEPS_STAGE,
    MabRun,
    Scenario,
    deps_cached,
    mab_build,
    prune,
    table,
)

SEED_WARM_RATIO = 131 / 383  # 6m23s -> 2m11s with a registry cache
SEED_QEMU_FACTOR = 2.8
TARGET_WARM_RATIO = 0.20


def _seconds(value: float) -> str:
    return f"{value:.1f}s"


def _install_s(run: MabRun, platform: str) -> float:
    """Duration of the dependency stage's RUN step for `platform` in `run`."""
    for step in run.steps(DEPS_STAGE, platform):
        if step["instruction"].startswith("RUN") and step["duration_s"] is not None:
            return float(step["duration_s"])
    return float("nan")


def _checked(run: MabRun, what: str) -> MabRun:
    """Stop on a failed build; a failed cache export only is reported in the table."""
    if run.outcome == "failed":
        sys.exit(f"{what}: the build failed (exit {run.exit_code}):\n{run.stderr[-3000:]}")
    return run


def _time(run: MabRun) -> str:
    return _seconds(run.wall_s) + ("" if run.outcome == "ok" else "*")


def _row(label: str, platform: str, cold: MabRun, warm: MabRun, lock: MabRun) -> tuple[str, ...]:
    numbers = warm.platform(platform)
    return (
        label,
        platform,
        _time(cold),
        _time(warm),
        f"{warm.wall_s / cold.wall_s * 100:.0f}%",
        f"{numbers['hit_ratio'] * 100:.0f}%",
        deps_cached(warm, platform),
        _time(lock),
    )


HEADER = ("CACHE", "PLATFORM", "COLD", "WARM", "WARM/COLD", "HIT", "DEPS CACHED", "LOCK CHANGE")


FIXED = {
    "cache import": (Kind.CACHE_IMPORT,),
    "image export": (Kind.IMAGE_EXPORT,),
    "push": (Kind.PUSH,),
    "cache export": (Kind.CACHE_EXPORT,),
    "cached steps": (),
}


def fixed_costs(recording: Path) -> dict[str, float]:
    """Seconds of the build-wide work a warm build pays whatever it builds, read from the
    durations (merged run intervals) of those vertices in its recorded stream."""
    model = model_of_recording(recording.name, recording.read_bytes())
    views = model.vertices()
    costs = {
        name: sum(v.duration_s or 0.0 for v in views if v.kind in kinds)
        for name, kinds in FIXED.items()
        if kinds
    }
    # Cache hits are not free: on a fresh runner they fetch and unpack the imported layers.
    costs["cached steps"] = sum(
        v.duration_s or 0.0 for v in model.steps() if v.state is StepState.CACHED
    )
    return costs


def floor_table(
    s: Scenario, work: Path, platforms: tuple[str, ...], cold: dict[str, MabRun]
) -> None:
    """Per platform: the warm build after the source-only change on a fresh runner (pruned
    builder, layers from the registry cache), and the same warm build on a builder that kept
    the cold build's local cache (no prune): the floor. Both import, export and push as CI
    does (the floor exports to a ref of its own, so the fresh runner reads only what the cold
    build wrote). The cold builds ran one platform after the other on a pruned builder, so the
    last one's cache is still there; the others are built cold once more first."""
    rows, costs = [], []
    work_recs = {p: work / f"{p.replace('/', '-')}" for p in platforms}

    def build(project: Path, what: str, platform: str, record: Path | None) -> MabRun:
        specs = s.specs[platform]
        if what != "warm":  # export beside the real cache, so the fresh runner cannot use it
            aside = specs.cache_to.replace(specs.ref, f"{specs.ref}-{what}")
            specs = dataclasses.replace(specs, cache_to=aside)
        run = mab_build(
            project,
            [platform],
            specs,
            s._tag(what, platform),
            base=s.base,
            record=record,
        )
        return _checked(run, f"{what} {platform}")

    floors = {}
    for n, p in enumerate(reversed(platforms)):
        if n:
            prune()
            build(s.original, "cold-again", p, None)
        floors[p] = build(s.source_changed, "floor", p, work_recs[p].with_suffix(".floor"))
    for p in platforms:
        prune()
        fresh = build(s.source_changed, "warm", p, work_recs[p].with_suffix(".fresh"))
        floor = floors[p]
        fresh_rec, floor_rec = (
            work_recs[p].with_suffix(".fresh"),
            work_recs[p].with_suffix(".floor"),
        )
        print(f"{p}: warm and floor builds done", flush=True)
        rows.append(
            (
                p,
                _time(cold[p]),
                _time(fresh),
                _time(floor),
                f"{fresh.wall_s / floor.wall_s:.2f}",
                f"{fresh.platform(p)['hit_ratio'] * 100:.0f}%",
                f"{floor.platform(p)['hit_ratio'] * 100:.0f}%",
            )
        )
        for label, rec in (("fresh-runner warm", fresh_rec), ("floor", floor_rec)):
            c = fixed_costs(rec)
            costs.append((p, label, *(_seconds(c[k]) for k in FIXED)))
    print()
    head = (
        "PLATFORM",
        "COLD",
        "WARM (FRESH RUNNER)",
        "FLOOR (KEPT CACHE)",
        "WARM/FLOOR",
        "HIT",
        "FLOOR HIT",
    )
    print(table(head, rows))
    print()
    print("where the fixed cost goes (durations of the build-wide vertices in each stream):")
    print(table(("PLATFORM", "BUILD", *(k.upper() for k in FIXED)), costs))
    print(f"load average after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platforms", default=",".join(engine_check.PLATFORMS))
    parser.add_argument(
        "--deps-work",
        type=int,
        default=360_000,
        help="CPU work per package in the dependency install (the tests use 120000); the "
        "default makes the native install take about as long as a small real npm ci",
    )
    parser.add_argument(
        "--floor-only",
        action="store_true",
        help="only the cold builds, then per platform the warm build on a fresh runner beside "
        "the same build on a builder that kept its local cache (the floor), and where the "
        "fixed cost goes",
    )
    args = parser.parse_args()
    os.environ["MAB_DEPS_WORK"] = str(args.deps_work)
    platforms = tuple(args.platforms.split(","))
    ok, reason = engine_check.engine_available()
    if not ok:
        sys.exit(f"no engine: {reason}")
    image = f"{engine_check.REGISTRY}/bench/cache-hits-{uuid.uuid4().hex[:12]}"
    print(f"engine: {reason}", flush=True)
    print(f"image: {image}; load average before: {os.getloadavg()[0]:.1f}", flush=True)
    print(f"dependency install work per package: {args.deps_work}", flush=True)
    with tempfile.TemporaryDirectory(prefix="mab-cache-hits-") as tmp:
        s = Scenario(Path(tmp), image, platforms)
        rows = []
        cold = {p: _checked(r, f"cold {p}") for p, r in s.cold().items()}
        print("cold per-platform builds done", flush=True)
        cold_records = dict(s.cold_records)
        if args.floor_only:
            floor_table(s, Path(tmp), platforms, cold)
            return
        warm = {p: _checked(r, f"warm {p}") for p, r in s.warm().items()}
        print("warm per-platform builds done", flush=True)
        lock = {p: _checked(r, f"lockfile {p}") for p, r in s.lock().items()}
        print("lockfile-change per-platform builds done", flush=True)
        rows += [_row("per-platform", p, cold[p], warm[p], lock[p]) for p in platforms]
        shared_cold = _checked(s.shared_cold(), "shared cold")
        shared_warm = _checked(s.shared_warm(), "shared warm")
        shared_lock = _checked(s.shared_lock(), "shared lock")
        print("shared-ref builds done", flush=True)
        rows += [_row("shared", p, shared_cold, shared_warm, shared_lock) for p in platforms]
    load = os.getloadavg()[0]
    print()
    print(table(HEADER, rows))
    print()
    native, emulated = platforms[0], platforms[-1]
    fast, slow = _install_s(cold[native], native), _install_s(cold[emulated], emulated)
    print(
        f"CPU-bound install step (deps RUN), cold: {native} {_seconds(fast)}, "
        f"{emulated} {_seconds(slow)} under QEMU = {slow / fast:.1f}x native "
        f"(seed material: about {SEED_QEMU_FACTOR}x)"
    )
    worst = max(warm[p].wall_s / cold[p].wall_s for p in platforms)
    all_deps = all(s == "cached" for p in platforms for s in warm[p].states(DEPS_STAGE, p).values())
    print(
        f"per-platform warm/cold at worst {worst * 100:.0f}% (target <= "
        f"{TARGET_WARM_RATIO * 100:.0f}%; seed material {SEED_WARM_RATIO * 100:.0f}%), "
        f"dependency steps all cached: {'yes' if all_deps else 'NO'}"
    )
    failed = [r for r in (shared_cold, shared_warm, shared_lock) if r.outcome != "ok"]
    if failed:
        print("* the build failed in its cache export (`not found`), after every step ran")
    records = ", ".join(f"{p} {n}" for p, n in cold_records.items())
    print(f"records in the per-platform caches the cold builds exported: {records}")
    print(f"load average after: {load:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
