"""Cache hits across platforms, end to end, on the real engine (`scripts/engine-up.sh`).

The sequence of a CI pipeline's life, on the reference project (tests/e2e/project), with the
cache values `mab init-ci` writes into the GitHub workflow (native strategy: one job per
platform, each with its own registry cache ref):

1. cold builds on fresh builders write both per-platform cache refs;
2. a source-only change, rebuilt on fresh builders (`docker builder prune -af`): mab's summary
   reports every dependency-stage step cached on both platforms, and buildx's plain text of
   the same build (again after a prune) agrees as far as it can tell;
3. a lockfile change runs the dependency steps again on both platforms;
4. the seed material's single shared ref for a two-platform build, over the same builds, side
   by side with mab's per-platform refs (both hit tables are printed).

Every build of the module is made once (`Scenario`) and shared by the tests. The module's
project has a fresh salt in its lockfile and sources and builds on a copy of the base image of
its own (`--build-arg BASE=`, the same layers under a salted label), so nothing built before or
meanwhile (by an earlier run or by another test on the shared builder) can make a "cold" build
warm. That matters beyond timing: a cold build that took even its base stage's WORKDIR from a
record another build had just made exported a cache from which the next fresh builder took
nothing. The prunes empty the engine's shared builder: other builds running at the same time
lose their local hits, not their correctness.

No timing is asserted: `benchmarks/cache_hits.py` measures the same sequence.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.cachebuilds import (
    CACHE_CONFIG,
    DEPS_STAGE,
    HIT_HEADER,
    OCI_MANIFEST,
    SRC_STAGE,
    MabRun,
    Scenario,
    cache_manifest,
    hit_rows,
    plain_steps,
    spec_ref,
    table,
)
from tests.e2e.conftest import Engine

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def scenario(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    workdir = tmp_path_factory.mktemp("cache-hits")
    yield Scenario(workdir, engine.unique_ref("cache-hits"), engine.platforms)


def _succeeded(run: MabRun) -> None:
    assert run.exit_code == 0, run.stderr[-3000:]
    assert run.summary["status"] == "succeeded", run.summary.get("error")
    assert set(run.summary["platforms"]) == set(run.platforms), run.summary["platforms"]


def _deps_indexes_complete(run: MabRun, platform: str) -> None:
    """The summary lists every instruction of the dependency stage (COPY deps.lock, RUN)."""
    steps = run.steps(DEPS_STAGE, platform)
    assert steps, f"no {DEPS_STAGE} steps for {platform}: {run.summary['steps']}"
    total = steps[0]["total"]
    indexes = [s["index"] for s in steps]
    assert indexes == list(range(1, total + 1)), run.states(DEPS_STAGE, platform)
    assert any(s["instruction"].startswith("RUN") for s in steps)


def _stage_states(run: MabRun, platform: str) -> tuple[set[str], set[str]]:
    """A successful build's states of the dependency steps and of the source steps."""
    _succeeded(run)
    _deps_indexes_complete(run, platform)
    deps = run.states(DEPS_STAGE, platform)
    src = run.states(SRC_STAGE, platform)
    print(f"{platform}: deps {deps}, src {src}")
    return set(deps.values()), set(src.values())


def test_init_ci_values_are_per_platform(scenario: Scenario) -> None:
    """What the generated workflow gives each platform's job: its own ref, read and written,
    with the export options mab promises."""
    refs = {p: s.ref for p, s in scenario.specs.items()}
    assert set(refs) == set(scenario.platforms)
    assert len(set(refs.values())) == len(refs), refs  # one cache per platform
    for specs in scenario.specs.values():
        assert specs.ref.startswith(f"{scenario.image}:"), specs
        assert specs.ref in {spec_ref(s) for s in specs.cache_from}, specs
        options = set(specs.cache_to.split(",")[2:])
        assert {"mode=max", "image-manifest=true", "ignore-error=true"} <= options, specs


def test_cold_builds_write_each_platforms_cache(scenario: Scenario) -> None:
    cold = scenario.cold()
    for platform, run in cold.items():
        deps, src = _stage_states(run, platform)
        # Cold for real: the salted steps all ran. (Other steps may still hit by content:
        # `COPY --from=deps` copies the same files as any other build of the project.)
        assert deps == src == {"done"}, platform
    for platform, specs in scenario.specs.items():
        manifest = cache_manifest(specs.ref)
        assert manifest is not None, f"no cache at {specs.ref} after the {platform} build"
        assert manifest["mediaType"] == OCI_MANIFEST, manifest  # image-manifest=true
        assert manifest["config"]["mediaType"] == CACHE_CONFIG, manifest
        assert manifest["layers"], manifest
    _caches_whole_and_judged_right(scenario)


def _caches_whole_and_judged_right(scenario: Scenario) -> None:
    """Every cold export was judged by mab as the registry shows it (verified when whole,
    incomplete or missing when short), and each platform ended with a whole cache."""
    assert not scenario.undetected_cold_caches(), scenario.cold_verdicts
    assert not scenario.incomplete_cold_caches(), scenario.cold_verdicts


def test_source_change_on_fresh_builders_hits_every_dependency_step(scenario: Scenario) -> None:
    warm = scenario.warm()
    _caches_whole_and_judged_right(scenario)
    for platform, run in warm.items():
        deps, src = _stage_states(run, platform)
        assert deps == {"cached"}, platform
        assert "done" in src, platform  # the change was seen: the source stage ran again
        numbers = run.platform(platform)
        assert numbers["cached"] >= len(run.steps(DEPS_STAGE, platform)), numbers
        assert numbers["cached"] + numbers["executed"] == numbers["steps"], numbers


def test_plain_text_of_the_same_build_agrees(scenario: Scenario) -> None:
    """buildx's own `--progress=plain` of the same build (made just before mab's, on a pruned
    builder, from the same caches, exporting nothing): every dependency step mab calls cached
    is either CACHED or DONE with only `extracting sha256:...` progress (a layer restored from
    the registry cache because a later step that did run needs it), and the install step
    printed none of its output. Plain cannot tell such a restore from a run by its DONE line;
    rawjson's `cached` can (see the reference doc), and mab reports it."""
    warm = scenario.warm()
    plain = scenario.warm_plain()
    _caches_whole_and_judged_right(scenario)
    for platform, run in plain.items():
        assert run.exit_code == 0, run.text[-3000:]
        steps = plain_steps(run.vertices, DEPS_STAGE)
        by_index = {s.step[2]: s for s in steps if s.step}
        mab_steps = warm[platform].steps(DEPS_STAGE, platform)
        assert sorted(by_index) == [s["index"] for s in mab_steps], run.text[-3000:]
        for step in mab_steps:
            vertex = by_index[step["index"]]
            shown = "CACHED" if vertex.cached else f"DONE {vertex.done_s}s"
            print(f"{platform} plain: {vertex.name[:40]} {shown}, progress {vertex.progress}")
            assert step["state"] == "cached"
            assert not vertex.executed, (platform, vertex)
            assert vertex.cached or vertex.done_s is not None, (platform, vertex)
            assert not [line for line in vertex.logs if "fetching" in line], vertex.logs
            other = [line for line in vertex.progress if not line.startswith("extracting")]
            assert not other, (platform, vertex)


def test_lockfile_change_runs_the_dependency_steps_again(scenario: Scenario) -> None:
    lock = scenario.lock()
    for platform, run in lock.items():
        deps, _ = _stage_states(run, platform)
        assert deps == {"done"}, platform
        # Not asserted: that the unchanged source stage still hits. It does when the warm
        # build's cache export was whole; twice, with other builds pruning the shared builder
        # meanwhile, it was not (the export's errors are ignored: ignore-error=true).


def test_shared_ref_against_per_platform_refs(scenario: Scenario) -> None:
    """The seed material's one `buildcache` ref for a two-platform build against mab's one ref
    per platform, over the same cold build and source-only change on a fresh builder. The seed
    command exports without `ignore-error=true`: on this engine its cache export sometimes
    fails with `not found`, failing the build after every step ran; that is shown (BUILD
    column), not failed on, since it is the baseline's behaviour and not mab's."""
    shared_cold, shared_warm = scenario.shared_cold(), scenario.shared_warm()
    warm = scenario.warm()
    shared = {p: shared_warm for p in scenario.platforms}
    print("\nCold build (shared ref):")
    print(table(HIT_HEADER, hit_rows("shared", {p: shared_cold for p in scenario.platforms})))
    print("Warm build after a source-only change, on a fresh builder:")
    print(table(HIT_HEADER, hit_rows("per-platform", warm) + hit_rows("shared", shared)))
    _caches_whole_and_judged_right(scenario)
    for run in (shared_cold, shared_warm):
        assert run.outcome in ("ok", "cache export failed"), run.stderr[-3000:]
    for platform in scenario.platforms:
        _deps_indexes_complete(shared_warm, platform)
        mine = warm[platform].states(DEPS_STAGE, platform)
        theirs = shared_warm.states(DEPS_STAGE, platform)
        hits = sum(s == "cached" for s in mine.values())
        assert hits == len(mine), (platform, mine)
        assert hits >= sum(s == "cached" for s in theirs.values()), (platform, theirs)
