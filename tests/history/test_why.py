"""The why-logic on records made by hand: each cause, most specific first."""

from __future__ import annotations

from dataclasses import replace

from mab.history.record import BuildRecord, CacheImport, StepInputs, StepRecord
from mab.history.why import Why, explain, first_misses, import_failures, unfinished

P = "linux/arm64"


def step(sid: str, instruction: str, state: str, **inputs: object) -> StepRecord:
    stage, index = sid.split("#")
    fields: dict[str, object] = {"digest": f"d-{sid}", "own": f"o-{sid}"}
    fields.update(inputs)
    return StepRecord(P, stage, int(index), 3, instruction, state, 1.0, StepInputs(**fields))  # type: ignore[arg-type]


def build(*steps: StepRecord, **kw: object) -> BuildRecord:
    fields: dict[str, object] = {
        "uid": "b",
        "started_at": 2.0,
        "duration_s": 1.0,
        "outcome": "succeeded",
        "image": "app",
        "platforms": (P,),
        "steps": steps,
        "builder": "default",
        "driver": "docker",
    }
    fields.update(kw)
    return BuildRecord(**fields)  # type: ignore[arg-type]


FROM = "FROM busybox:1@sha256:aaaa"
BASE = step("s#1", FROM, "cached")
OLD = build(
    BASE,
    step(
        "s#2",
        "COPY src/ ./src/",
        "ran",
        files=(("src/a.py", "1"), ("src/b.py", "2")),
        files_digest="x",
        parents=("s#1",),
    ),
    step("s#3", "RUN make", "ran", args=(("V", "1"),), parents=("s#2",)),
    uid="a",
    started_at=1.0,
)


def why_of(new: BuildRecord, old: BuildRecord | None = OLD) -> dict[str, Why]:
    return {sid: w for sid, w in explain(new, {P: old})[P].items()}


def test_a_source_edit_names_the_file_and_cascades() -> None:
    new = build(
        BASE,
        step(
            "s#2",
            "COPY src/ ./src/",
            "ran",
            files=(("src/a.py", "9"), ("src/b.py", "2"), ("src/c.py", "3")),
            files_digest="y",
            parents=("s#1",),
        ),
        step("s#3", "RUN make", "ran", args=(("V", "1"),), parents=("s#2",)),
    )
    whys = why_of(new)
    assert whys["s#2"].cause == "sources_changed"
    assert whys["s#2"].detail == "src/a.py changed, src/c.py added"
    assert whys["s#3"].cause == "parent_missed"
    assert whys["s#3"].root.startswith("s 2/3 COPY src/")
    first = first_misses(new, explain(new, {P: OLD}))[P]
    assert first is not None and first[0].id == "s#2"


def test_a_build_arg_change_says_old_and_new() -> None:
    new = replace(
        OLD,
        uid="b",
        started_at=2.0,
        steps=(
            BASE,
            replace(OLD.steps[1], state="cached"),
            step("s#3", "RUN make", "ran", args=(("V", "2"),), parents=("s#2",)),
        ),
    )
    assert why_of(new)["s#3"].detail == "V: 1 → 2"


def test_hashed_values_are_compared_but_not_shown() -> None:
    new = replace(
        OLD,
        uid="b",
        steps=(
            BASE,
            replace(OLD.steps[1], state="cached"),
            step("s#3", "RUN make", "ran", args=(("TOKEN", "sha256:2"),), parents=("s#2",)),
        ),
    )
    assert "not kept" in why_of(new)["s#3"].detail


def test_the_base_image_moved() -> None:
    moved = step("s#1", "FROM busybox:1@sha256:bbbb", "ran")
    new = build(moved, replace(OLD.steps[1]), replace(OLD.steps[2]))
    whys = why_of(new)
    assert whys["s#2"].cause == "base_moved"
    assert whys["s#2"].detail == "busybox:1 moved: sha256:aaaa → sha256:bbbb"
    assert whys["s#3"].cause == "parent_missed"


def test_an_instruction_edit() -> None:
    new = build(
        BASE,
        replace(OLD.steps[1], state="cached"),
        step("s#3", "RUN make all", "ran", args=(("V", "1"),), parents=("s#2",)),
    )
    assert why_of(new)["s#3"].cause == "instruction_changed"


def test_no_cache_comes_first() -> None:
    new = replace(OLD, uid="b", no_cache=True)
    assert {w.cause for w in why_of(new).values()} == {"cache_disabled"}


def test_a_ref_that_does_not_exist_yet_is_no_cause_of_a_miss() -> None:
    missing = "r/app:buildcache-linux-arm64"
    new = build(
        BASE,
        replace(OLD.steps[1]),
        replace(OLD.steps[2]),
        imports=(CacheImport(missing, False, f"{missing}: not found"),),
    )
    whys = why_of(new, None)
    assert whys["s#2"].cause == "unknown"
    assert whys["s#2"].detail.startswith("no comparable build: none earlier of Dockerfile")
    assert whys["s#2"].detail.endswith(f"no cache yet at {missing} (a first build)")
    assert whys["s#3"].cause == "parent_missed"


def test_a_real_import_failure_is_the_cause_with_its_error() -> None:
    ref = "r/app:buildcache-linux-arm64"
    error = f"failed to configure registry cache importer: {ref}: 401 Unauthorized"
    new = build(BASE, replace(OLD.steps[1]), imports=(CacheImport(ref, False, error),))
    why = why_of(new, None)["s#2"]
    assert why.cause == "cache_unavailable"
    assert why.detail == f"importing the cache {ref} failed: 401 Unauthorized"


def test_import_failures_count_real_failures_per_platform() -> None:
    imports = (
        CacheImport("r/app:buildcache-linux-amd64", False, "x: not found"),
        CacheImport("r/app:buildcache-linux-arm64", False, "x: 401 Unauthorized"),
        CacheImport("r/app:shared", False, "connection refused"),
        CacheImport("r/app:ok", True),
    )
    assert import_failures(imports, ("linux/amd64", "linux/arm64")) == {
        "linux/amd64": 1,
        "linux/arm64": 2,
    }


def test_an_import_for_another_platform_does_not_count() -> None:
    new = build(
        BASE,
        replace(OLD.steps[1]),
        imports=(CacheImport("r/app:buildcache-linux-amd64", False, "not found"),),
    )
    assert why_of(new, None)["s#2"].cause == "unknown"


def test_unchanged_inputs_on_the_same_builder_mean_the_cache_lost_it() -> None:
    new = replace(OLD, uid="b", started_at=2.0)
    assert why_of(new)["s#2"].cause == "cache_unavailable"
    other = replace(new, builder="ci", driver="docker-container")
    assert "another builder" in why_of(other)["s#2"].detail


def test_incomplete_fingerprints_say_unknown() -> None:
    blind = replace(OLD.steps[1], inputs=replace(OLD.steps[1].inputs, complete=False))  # type: ignore[arg-type]
    new = build(BASE, blind)
    assert why_of(new, build(BASE, blind, uid="a", started_at=1.0))["s#2"].cause == "unknown"


def test_hits_are_not_explained() -> None:
    new = build(BASE, replace(OLD.steps[1], state="cached"), replace(OLD.steps[2], state="cached"))
    assert why_of(new) == {}


def test_another_target_names_the_target_for_a_stage_it_never_built() -> None:
    # The only earlier build made the `test` stage; this one builds the image (no --target):
    # the new stage's first step names the target change, the steps after it cascade.
    test_stage = step("t#1", "RUN ./run-tests", "ran", parents=("s#1",))
    old = build(BASE, test_stage, uid="a", started_at=1.0, target="test")
    new = build(
        BASE,
        step("p#1", "COPY dist/ /srv/", "ran", parents=("s#1",)),
        step("p#2", "RUN chown -R app /srv", "ran", parents=("p#1",)),
    )
    whys = why_of(new, old)
    assert whys["p#1"] == Why(
        "arg_changed", "--target test → (the last stage): stage p was not built then", against="a"
    )
    assert whys["p#2"].cause == "parent_missed" and whys["p#2"].root.startswith("p 1/3 COPY")
    # The same target, a new step in a stage it built: the instruction is what changed.
    same = build(BASE, step("s#2", "RUN make lint", "ran", parents=("s#1",)))
    assert why_of(same, build(BASE, uid="a", started_at=1.0))["s#2"].cause == "instruction_changed"


def test_steps_that_did_not_finish_say_why_never_from_the_cache() -> None:
    amd = [
        StepRecord("linux/amd64", "s", 1, 3, "RUN a", "cached", 0.0),
        StepRecord("linux/amd64", "s", 2, 3, "RUN b", "canceled", 1.0),
        StepRecord("linux/amd64", "s", 3, 3, "RUN c", "pending", None),
    ]
    arm = [
        StepRecord("linux/arm64", "s", 1, 3, "RUN a", "cached", 0.0),
        StepRecord("linux/arm64", "s", 2, 3, "RUN b", "failed", 4.0),
    ]
    failed = BuildRecord(
        "f", 1.0, 5.0, "failed", "app", ("linux/amd64", "linux/arm64"), (*amd, *arm)
    )
    undone = {u.step.id: u.text for u in unfinished(failed, "linux/amd64")}
    assert undone == {
        "s#2": "did not finish: canceled because linux/arm64 failed at s 2/3 RUN b",
        "s#3": "did not finish: it never ran (the build failed first)",
    }
    assert [u.text for u in unfinished(failed, "linux/arm64")] == ["did not finish: it failed"]
    canceled = replace(failed, outcome="canceled", steps=tuple(amd))
    assert unfinished(canceled, "linux/amd64")[0].reason == "canceled (the build canceled)"
