"""The causes in the summary (JSON, table, job summary), and the registry record's pure parts."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path
from typing import Any

from mab.history import remote
from mab.history.record import BuildRecord, StepRecord, loads
from mab.history.session import annotate
from mab.history.why import Why
from mab.progress.decoder import StreamDecoder
from mab.progress.model import BuildModel
from mab.progress.summary import Summary, render_markdown, render_table
from mab.registry.reference import parse_reference

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams"


def cold_model() -> BuildModel:
    model = BuildModel(("linux/amd64", "linux/arm64"))
    decoder = StreamDecoder()
    for event in decoder.feed((STREAMS / "cold-multi.rawjson").read_bytes()):
        model.apply(event)
    for event in decoder.close():
        model.apply(event)
    model.finish(0)
    return model


def cold_summary() -> Summary:
    return Summary.from_model(cold_model())


WHYS = {
    "linux/arm64": {
        "base#2": Why("cache_unavailable", "importing the cache r:buildcache-linux-arm64 failed"),
        "deps#1": Why("sources_changed", "deps.lock changed", against="u0"),
        "deps#2": Why("parent_missed", "deps 1/2 COPY deps.lock ./ missed", "deps 1/2 COPY"),
    }
}


def test_the_causes_go_into_the_json_the_table_and_the_job_summary() -> None:
    summary = annotate(cold_summary(), WHYS)
    steps = summary.to_json()["steps"]
    marked = [s for s in steps if "why" in s]
    assert [(s["stage"], s["index"]) for s in marked] == [("base", 2), ("deps", 1), ("deps", 2)]
    assert marked[1]["why"] == {
        "linux/arm64": {"cause": "sources_changed", "detail": "deps.lock changed", "against": "u0"}
    }
    first = summary.to_json()["first_miss"]["linux/arm64"]
    assert (first["stage"], first["why"]["linux/arm64"]["cause"]) == ("base", "cache_unavailable")
    assert "why: cache unavailable: importing the cache" in render_table(summary)
    assert "— why: cache unavailable: importing the cache" in render_markdown(summary)
    assert annotate(cold_summary(), {}) == cold_summary()  # nothing known: unchanged


def test_record_tags_sit_beside_the_cache() -> None:
    cache = parse_reference("localhost:5000/app:buildcache-linux-arm64-main")
    assert str(remote.record_ref(cache)) == "localhost:5000/app:buildrecord-linux-arm64-main"
    other = parse_reference("localhost:5000/app:cache")
    assert remote.record_ref(other).tag == "cache.mab-record"
    specs = ("type=registry,ref=r/app:buildcache-linux-amd64,mode=max", "type=gha,scope=x", "r/b:c")
    assert remote.registry_refs(specs) == ("r/app:buildcache-linux-amd64", "r/b:c")
    platforms = ("linux/amd64", "linux/arm64")
    assert remote.platform_of("r/app:buildcache-linux-arm64", platforms) == "linux/arm64"
    assert remote.platform_of("r/app:buildcache", platforms) is None


class RefusingRegistry:
    """Stands in for a registry that refuses OCI artifacts (the local registry accepts them,
    so the fallback cannot be seen against it): records what mab pushes."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.manifests: list[dict[str, Any]] = []

    def manifest_digest(self, ref: object) -> str:
        return "sha256:" + "c" * 64

    def push_blob(self, repository: str, data: bytes) -> str:
        import hashlib

        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        return digest

    def put_manifest(self, repository: str, tag: str, media_type: str, body: bytes) -> str | None:
        manifest = json.loads(body)
        if "artifactType" in manifest:
            return None
        self.manifests.append(manifest)
        return "sha256:" + "d" * 64


def test_a_registry_without_artifacts_gets_a_plain_image_with_one_layer() -> None:
    record = BuildRecord(
        "u1",
        1.0,
        2.0,
        "succeeded",
        "app",
        ("linux/arm64",),
        (StepRecord("linux/arm64", "s", 2, 2, "RUN x", "ran", 1.0),),
        build_args=(("TOKEN", "secret"),),
    )
    client = RefusingRegistry()
    cache = parse_reference("localhost:5000/app:buildcache-linux-arm64")
    said = remote.push_record(client, cache, record)  # type: ignore[arg-type]
    assert "a plain image" in said
    (manifest,) = client.manifests
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == remote.FALLBACK_LAYER_TYPE
    assert manifest["annotations"][remote.CACHE_ANNOTATION] == "sha256:" + "c" * 64
    blob = client.blobs[layer["digest"]]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as tar:
        member = tar.extractfile(remote.MEMBER)
        assert member is not None
        kept = loads(member.read())
    assert kept.uid == "u1"
    assert kept.build_args[0][1].startswith("sha256:")  # never the value itself


def test_a_history_that_cannot_be_written_never_fails_the_build(tmp_path: Path) -> None:
    from mab.engine.buildcmd import BuildRequest
    from mab.history.session import BuildHistory

    project = Path(__file__).resolve().parent / "project"
    blocked = tmp_path / "not-a-file"
    blocked.mkdir()  # a directory where the database should be
    said: list[str] = []
    req = BuildRequest(context=str(project), platforms=("linux/amd64", "linux/arm64"))
    session = BuildHistory.start(req, None, history=str(blocked), notice=said.append)
    record = session.finish(cold_model(), 3.0)
    assert record is not None and record.platforms == ("linux/amd64", "linux/arm64")
    assert session.build_id is None
    assert any("cannot open the build history" in s and "not recorded" in s for s in said)
