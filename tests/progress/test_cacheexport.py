"""mab.progress.cacheexport: each cache export's outcome read from real recorded streams, and
the judgement of a cache read back (pure: the registry side is in the engine tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mab.progress.cacheexport import (
    CacheExport,
    CacheSpec,
    ExportSeen,
    coverage,
    verify,
)
from mab.progress.decoder import StreamDecoder
from mab.progress.model import BuildModel
from mab.progress.summary import Summary, render_markdown, render_table
from mab.registry.caches import CacheContents

STREAMS = Path(__file__).parent.parent / "fixtures" / "streams"
AMD, ARM = "linux/amd64", "linux/arm64"
REF = "localhost:5000/app:buildcache-linux-amd64"


def summarize(name: str, platforms: tuple[str, ...], cache_to: tuple[str, ...] = ()) -> Summary:
    model = BuildModel(platforms)
    model.cache_to = cache_to
    decoder = StreamDecoder()
    for event in [*decoder.feed((STREAMS / f"{name}.rawjson").read_bytes()), *decoder.close()]:
        model.apply(event)
    model.finish(0)
    return Summary.from_model(model)


def test_a_refused_export_is_failed_with_its_reason_though_the_build_succeeded() -> None:
    spec = "type=registry,ref=localhost:5001/ref/app:buildcache-linux-amd64,mode=max"
    summary = summarize("export-refused", (AMD,), (spec + ",ignore-error=true",))
    assert summary.status == "succeeded"
    (export,) = summary.cache_exports
    assert export.status == "failed" and export.problem
    assert export.error is not None and "401 Unauthorized" in export.error
    assert export.ref == "localhost:5001/ref/app:buildcache-linux-amd64"
    data = summary.to_json()["cache_export"][AMD]
    assert data["status"] == "failed" and "401" in data["error"]
    assert "! linux/amd64: the cache export to localhost:5001/" in render_table(summary)
    assert "⚠️ linux/amd64: the cache export" in render_markdown(summary)


def test_a_normal_export_counts_the_layers_it_wrote_and_names_its_manifest() -> None:
    summary = summarize("cold-multi-linux-amd64", (AMD,), (f"type=registry,ref={REF},mode=max",))
    (export,) = summary.cache_exports
    assert export.status == "exported" and not export.problem
    assert export.layers_written == 10 and export.manifest is not None
    assert export.steps == summary.platforms[0].steps
    assert export.duration_s is not None and export.duration_s > 0


def test_a_replay_without_the_request_has_no_ref_but_still_the_outcome() -> None:
    (export,) = summarize("export-refused", (AMD,)).cache_exports
    assert export.ref is None and export.status == "failed"


def test_a_build_with_two_platforms_and_one_export_keys_it_by_both() -> None:
    summary = summarize("cold-multi", (AMD, ARM), (f"type=registry,ref={REF},mode=max",))
    assert list(summary.to_json()["cache_export"]) == [f"{AMD},{ARM}"]


def test_the_bases_of_a_cold_build_are_named() -> None:
    model = BuildModel((AMD,))
    decoder = StreamDecoder()
    data = (STREAMS / "cold-multi-linux-amd64.rawjson").read_bytes()
    for event in [*decoder.feed(data), *decoder.close()]:
        model.apply(event)
    assert model.exports.bases() == ("localhost:5000/base/busybox:1",)


def test_cache_to_values_are_parsed_as_buildx_reads_them() -> None:
    spec = CacheSpec.parse("type=registry,ref=r/app:c,mode=max,ignore-error=true")
    assert (spec.type, spec.ref, spec.mode, spec.ignore_error) == (
        "registry",
        "r/app:c",
        "max",
        True,
    )
    assert CacheSpec.parse("type=gha,scope=x").ref is None
    assert CacheSpec.parse("type=registry,ref=r/app:c").mode == "min"


# --------------------------------------------------------------------------- judging a read-back

SEEN = ExportSeen("registry", 1.0, 2.0, "", ("sha256:a", "sha256:b"), "sha256:m1", "sha256:c")
EXPORTED = CacheExport(AMD, REF, "registry", "exported", steps=5, mode="max", manifest="sha256:m1")
BASES = {AMD: ("sha256:amd-base", "sha256:shared"), ARM: ("sha256:arm-base", "sha256:shared")}


def contents(
    digest: str = "sha256:m1", layers: tuple[str, ...] = (), records: int = 9
) -> CacheContents:
    return CacheContents(digest, layers or ("sha256:a", "sha256:b", "sha256:amd-base"), records)


@pytest.mark.parametrize(
    ("found", "status", "detail"),
    [
        (None, "missing", "no cache at this ref"),
        (contents("sha256:m2"), "replaced", "another build exported to it since"),
        (contents(layers=("sha256:a",)), "incomplete", "1 of the 2 layers"),
        (contents(records=3), "incomplete", "cache holds 3 records, the build has 5 steps"),
        (
            contents(layers=("sha256:a", "sha256:b", "sha256:arm-base", "sha256:shared")),
            "wrong-platform",
            "holds linux/arm64's base image layers, not linux/amd64's",
        ),
        (contents(), "verified", None),
    ],
)
def test_verify(found: CacheContents | None, status: str, detail: str | None) -> None:
    judged = verify(EXPORTED, found, SEEN, BASES)
    assert judged.status == status
    if detail is None:
        assert judged.detail is None
    else:
        assert judged.detail is not None and detail in judged.detail


def test_a_failed_export_is_not_read_back() -> None:
    failed = CacheExport(AMD, REF, "registry", "failed", error="401")
    assert verify(failed, None, SEEN, BASES) is failed


def test_mode_min_caches_are_not_judged_by_their_record_count() -> None:
    assert coverage(AMD, 14, "min", contents(records=2), BASES).status == "verified"


def test_the_platform_cannot_be_told_without_base_layers_or_from_shared_ones_only() -> None:
    assert coverage(AMD, 5, "max", contents(), {}).status == "verified"
    shared = contents(layers=("sha256:shared",))
    assert coverage(AMD, 5, "max", shared, BASES).status == "verified"
