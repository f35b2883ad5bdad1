"""`mab cache ls|inspect|rm` against the real local registries, after real builds pushed
per-platform cache refs (both BuildKit formats: `image-manifest=true` and the OCI index), plus
the pure model over a recorded real cache manifest and cache config.

Expected sizes come from `docker buildx imagetools inspect --raw`, not from mab's own client.
Every run writes to its own repository (`mabtest/cache-<random>`), so concurrent runs and other
engineers' builds do not meet.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from mab.cli import main
from mab.errors import EXIT_REGISTRY, EXIT_USAGE, RegistryError
from mab.registry.caches import describe_layers, split_cache_tag, summarize
from mab.registry.client import RegistryClient
from mab.registry.dockerconfig import credentials_for
from mab.registry.manifest import Manifest, parse_manifest
from mab.registry.reference import Reference, parse_reference
from tests import engine_env as engine_check

REGISTRY = engine_check.REGISTRY
AUTH_REGISTRY = engine_check.AUTH_REGISTRY
AUTH_USER, AUTH_PASSWORD = engine_check.AUTH_USER, engine_check.AUTH_PASSWORD
BASE_IMAGE = engine_check.BASE_IMAGE


def run_mab(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out, err


def docker_config(directory: Path, password: str | None) -> Path:
    """A Docker config dir: empty, or with a login for the auth registry."""
    directory.mkdir(parents=True, exist_ok=True)
    auths = {}
    if password is not None:
        token = base64.b64encode(f"{AUTH_USER}:{password}".encode()).decode()
        auths[AUTH_REGISTRY] = {"auth": token}
    (directory / "config.json").write_text(json.dumps({"auths": auths}), encoding="utf-8")
    return directory


def build_cache(context: Path, platform: str, ref: str, image_manifest: bool, config: Path) -> None:
    options = "mode=max" + (",oci-mediatypes=true,image-manifest=true" if image_manifest else "")
    argv = [
        "docker", "buildx", "build", "--platform", platform,
        "--cache-to", f"type=registry,ref={ref},{options}", str(context),
    ]  # fmt: skip
    env = {"DOCKER_CONFIG": str(config), "PATH": "/usr/local/bin:/usr/bin:/bin"}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def raw_size(ref: str, config: Path) -> tuple[int, int]:
    """(bytes of every blob, number of layers) as docker's own client reads the manifest."""
    done = subprocess.run(
        ["docker", "buildx", "imagetools", "inspect", "--raw", ref],
        capture_output=True,
        text=True,
        timeout=60,
        env={"DOCKER_CONFIG": str(config), "PATH": "/usr/local/bin:/usr/bin:/bin"},
        check=True,
    )
    data = json.loads(done.stdout)
    blobs = [*data["layers"], data["config"]] if "layers" in data else data["manifests"]
    layers = [b for b in blobs if b["mediaType"] != "application/vnd.buildkit.cacheconfig.v0"]
    return sum(b["size"] for b in blobs), len(layers)


@dataclass(frozen=True)
class Pushed:
    image: str  # on the open registry
    auth_image: str  # on the basic-auth registry
    anonymous: Path  # DOCKER_CONFIG without logins
    logged_in: Path  # DOCKER_CONFIG with the right password
    wrong: Path  # DOCKER_CONFIG with a wrong password
    context: Path  # the build context all caches come from
    fresh_images: list[str] = field(default_factory=list)

    def fresh(self, *platforms: str) -> str:
        """A new repository on the open registry with one cache ref per platform, for a test
        that deletes (so the others do not depend on the order tests run in)."""
        image = f"{REGISTRY}/mabtest/cache-rm-{uuid.uuid4().hex[:10]}"
        for platform in platforms:
            ref = f"{image}:buildcache-{platform.replace('/', '-')}"
            build_cache(self.context, platform, ref, True, self.anonymous)
        self.fresh_images.append(image)
        return image


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushed]:
    for ok, reason in (engine_check.engine_available(), engine_check.auth_registry_available()):
        if not ok:
            pytest.skip(f"real engine not available: {reason}")
    root = tmp_path_factory.mktemp("cache")
    marker = uuid.uuid4().hex[:10]
    context = root / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\nRUN echo {marker} > /marker\nRUN head -c 50000 /dev/urandom > /r\n"
    )
    repo = f"mabtest/cache-{marker}"
    result = Pushed(
        image=f"{REGISTRY}/{repo}",
        auth_image=f"{AUTH_REGISTRY}/{repo}",
        anonymous=docker_config(root / "anonymous", None),
        logged_in=docker_config(root / "logged-in", AUTH_PASSWORD),
        wrong=docker_config(root / "wrong", "not-the-password"),
        context=context,
    )
    build_cache(context, "linux/amd64", f"{result.image}:buildcache-linux-amd64", True, root)
    build_cache(context, "linux/arm64", f"{result.image}:buildcache-linux-arm64", True, root)
    build_cache(
        context, "linux/amd64", f"{result.image}:buildcache-linux-amd64-feature-x", False, root
    )
    auth_ref = f"{result.auth_image}:buildcache-linux-arm64"
    build_cache(context, "linux/arm64", auth_ref, True, result.logged_in)
    yield result
    for image in [result.image, *result.fresh_images]:
        remove_all(image, result.anonymous)
    remove_all(result.auth_image, result.logged_in)


def remove_all(image: str, config: Path) -> None:
    """Leave the shared registries as they were: delete every tag this module pushed."""
    ref = parse_reference(image)
    creds = credentials_for(ref.registry, config / "config.json")
    with (
        RegistryClient(ref.registry, credentials=creds, lookup_credentials=False) as client,
        contextlib.suppress(RegistryError),
    ):
        for tag in client.list_tags(ref.repository):
            digest = client.manifest_digest(ref.with_tag(tag))
            if digest:
                client.delete_manifest(ref.repository, digest)


@pytest.fixture
def as_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.chdir(tmp_path)  # no .mab.yml, no git remote
    yield monkeypatch


@pytest.mark.engine
def test_ls_finds_every_cache_ref_with_docker_s_sizes(
    pushed: Pushed, as_user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    as_user.setenv("DOCKER_CONFIG", str(pushed.anonymous))
    code, out, err = run_mab(["cache", "ls", pushed.image, "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    rows = {r["tag"]: r for r in data["refs"]}
    assert sorted(rows) == [
        "buildcache-linux-amd64",
        "buildcache-linux-amd64-feature-x",
        "buildcache-linux-arm64",
    ]
    for tag, row in rows.items():
        size, layers = raw_size(f"{pushed.image}:{tag}", pushed.anonymous)
        assert (row["size"], row["layers"]) == (size, layers), tag
        assert row["updated"] and row["updated"].startswith("20")
        assert row["buildkit_cache"] is True
    assert rows["buildcache-linux-arm64"]["platform"] == "linux/arm64"
    assert (
        rows["buildcache-linux-arm64"]["media_type"] == "application/vnd.oci.image.manifest.v1+json"
    )
    feature = rows["buildcache-linux-amd64-feature-x"]
    assert (feature["platform"], feature["branch"]) == ("linux/amd64", "feature-x")
    assert feature["media_type"] == "application/vnd.oci.image.index.v1+json"
    assert data["errors"] == []


@pytest.mark.engine
def test_ls_table(
    pushed: Pushed, as_user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    as_user.setenv("DOCKER_CONFIG", str(pushed.anonymous))
    code, out, _ = run_mab(["cache", "ls", pushed.image], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["TAG", "PLATFORM", "BRANCH", "TYPE", "SIZE", "LAYERS", "UPDATED"]
    assert lines[1].split()[:4] == ["buildcache-linux-amd64", "linux/amd64", "-", "oci-manifest"]
    assert lines[2].split()[:4] == [
        "buildcache-linux-amd64-feature-x", "linux/amd64", "feature-x", "oci-index",
    ]  # fmt: skip
    assert lines[3].split()[:2] == ["buildcache-linux-arm64", "linux/arm64"]


@pytest.mark.engine
def test_inspect_shows_layers_and_what_they_belong_to(
    pushed: Pushed, as_user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    as_user.setenv("DOCKER_CONFIG", str(pushed.anonymous))
    for tag in ("buildcache-linux-arm64", "buildcache-linux-amd64-feature-x"):
        code, out, err = run_mab(["cache", "inspect", f"{pushed.image}:{tag}", "--json"], capsys)
        assert code == 0, err
        data = json.loads(out)
        details = data["layer_details"]
        assert len(details) == data["layers"] >= 3
        belongs = {d["belongs_to"] for d in details}
        assert "build step result (1 cache record)" in belongs  # the two RUN steps
        assert "base of later layers (base image or an earlier stage)" in belongs  # busybox
        roots = [d for d in details if d["parent"] is None]
        assert len(roots) == 1  # one chain: busybox, its symlinks, then the RUN steps
    code, out, _ = run_mab(
        ["cache", "inspect", f"{pushed.image}:buildcache-linux-amd64", "--json"], capsys
    )
    details = json.loads(out)["layer_details"]
    assert all("buildcache-linux-amd64-feature-x" in d["shared_with"] for d in details)
    code, out, _ = run_mab(["cache", "inspect", f"{pushed.image}:buildcache-linux-arm64"], capsys)
    assert "format:   oci-manifest (image-manifest=true)" in out
    assert "platform: linux/arm64" in out
    assert "BELONGS TO" in out


@pytest.mark.engine
def test_rm_removes_one_ref_and_ls_no_longer_shows_it(
    pushed: Pushed, as_user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    as_user.setenv("DOCKER_CONFIG", str(pushed.anonymous))
    image = pushed.fresh("linux/amd64", "linux/arm64")
    ref = f"{image}:buildcache-linux-amd64"
    code, out, err = run_mab(["cache", "rm", "--yes", ref], capsys)
    assert code == 0, err
    assert out.startswith(f"deleted {ref} (sha256:")
    code, out, _ = run_mab(["cache", "ls", image, "--json"], capsys)
    assert [r["tag"] for r in json.loads(out)["refs"]] == ["buildcache-linux-arm64"]
    code, _, err = run_mab(["cache", "rm", "--yes", ref], capsys)
    assert code == EXIT_REGISTRY
    assert f"mab: error: {ref} not found on {REGISTRY}" in err
    assert "Traceback" not in err


@pytest.mark.engine
def test_rm_asks_first(
    pushed: Pushed, as_user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    as_user.setenv("DOCKER_CONFIG", str(pushed.anonymous))
    ref = f"{pushed.image}:buildcache-linux-arm64"
    code, _, err = run_mab(["cache", "rm", ref], capsys)  # stdin is not a terminal under pytest
    assert code == EXIT_USAGE
    assert "refusing to delete without confirmation" in err
    assert "pass --yes" in err
    code, out, _ = run_mab(["cache", "ls", pushed.image, "--json"], capsys)
    assert "buildcache-linux-arm64" in [r["tag"] for r in json.loads(out)["refs"]]


@pytest.mark.engine
def test_rm_confirmation_at_a_terminal(
    pushed: Pushed, as_user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A person answers the question (stdin stands in for the terminal)."""
    as_user.setenv("DOCKER_CONFIG", str(pushed.anonymous))
    as_user.setattr("mab.commands.cache.can_ask", lambda: True)
    image = pushed.fresh("linux/amd64")
    ref = f"{image}:buildcache-linux-amd64"
    as_user.setattr("sys.stdin", io.StringIO("n\n"))
    code, out, err = run_mab(["cache", "rm", ref], capsys)
    assert code == 0
    assert f"delete {ref} (sha256:" in out
    assert f"kept {ref}" in err
    as_user.setattr("sys.stdin", io.StringIO("y\n"))
    code, out, err = run_mab(["cache", "rm", ref], capsys)
    assert code == 0, err
    assert f"deleted {ref}" in out
    code, out, err = run_mab(["cache", "ls", image, "--json"], capsys)
    assert json.loads(out)["refs"] == []
    assert "no cache refs" not in err  # JSON output says it with an empty list


@pytest.mark.engine
def test_basic_auth_registry_with_the_right_login(
    pushed: Pushed, as_user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    as_user.setenv("DOCKER_CONFIG", str(pushed.logged_in))
    code, out, err = run_mab(["cache", "ls", pushed.auth_image, "--json"], capsys)
    assert code == 0, err
    (row,) = json.loads(out)["refs"]
    size, layers = raw_size(f"{pushed.auth_image}:buildcache-linux-arm64", pushed.logged_in)
    assert (row["tag"], row["size"], row["layers"]) == ("buildcache-linux-arm64", size, layers)
    code, out, err = run_mab(["cache", "rm", "-y", row["ref"]], capsys)
    assert code == 0, err
    code, out, err = run_mab(["cache", "ls", pushed.auth_image], capsys)
    assert code == 0 and out == ""
    assert "no cache refs (buildcache-*)" in err


@pytest.mark.engine
def test_basic_auth_registry_with_a_wrong_password(
    pushed: Pushed, as_user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    as_user.setenv("DOCKER_CONFIG", str(pushed.wrong))
    code, out, err = run_mab(["cache", "ls", pushed.auth_image], capsys)
    assert code == EXIT_REGISTRY
    assert out == ""
    assert err.startswith(
        f"mab: error: {AUTH_REGISTRY} rejected the credentials (user 'mab' from "
        f"{pushed.wrong / 'config.json'} (auths))"
    )
    assert f"hint: log in again with `docker login {AUTH_REGISTRY}`" in err
    assert "not-the-password" not in err and "Traceback" not in err


@pytest.mark.engine
def test_basic_auth_registry_without_a_login(
    pushed: Pushed, as_user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    as_user.setenv("DOCKER_CONFIG", str(pushed.anonymous))
    code, _, err = run_mab(["cache", "ls", pushed.auth_image], capsys)
    assert code == EXIT_REGISTRY
    assert f"{AUTH_REGISTRY} needs a login" in err
    assert f"docker login {AUTH_REGISTRY}" in err


def test_unreachable_registry(
    as_user: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    as_user.setenv("DOCKER_CONFIG", str(docker_config(tmp_path / "cfg", None)))
    code, _, err = run_mab(["cache", "ls", "127.0.0.1:5999/app"], capsys)
    assert code == EXIT_REGISTRY
    assert "127.0.0.1:5999: cannot connect" in err
    assert "registry is running" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cache", "ls", "localhost:5000/app:tag"], "wants the image without one"),
        (["cache", "inspect", "localhost:5000/app"], "names no cache tag"),
        (["cache", "rm", "--yes", "localhost:5000/APP:x"], "not a valid image reference"),
        (["cache", "ls"], "no image given"),
    ],
)
def test_usage_errors(
    as_user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run_mab(args, capsys)
    assert code == EXIT_USAGE
    assert message in err


def test_image_from_mab_yml(
    as_user: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".mab.yml").write_text("version: 1\nimage: 127.0.0.1:5999/from-config\n")
    code, _, err = run_mab(["cache", "ls"], capsys)
    assert code == EXIT_REGISTRY
    assert "127.0.0.1:5999" in err


# --------------------------------------------------------------------------- pure model

# Recorded from a real `--cache-to type=registry,...,image-manifest=true` push on this engine
# (FROM the busybox base, two RUN steps), trimmed to two annotations per layer.
RECORDED_MANIFEST: dict[str, Any] = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {
        "mediaType": "application/vnd.buildkit.cacheconfig.v0",
        "digest": "sha256:ae5dcbfe472586421727c521bee2f462686b83146ba53689d73ec883f8e2a360",
        "size": 1180,
    },
    "layers": [
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": "sha256:14aeab9a6ac5d2b3c67d350a25933454ea6cfde2bfab01304efa13449f475a05",
            "size": 1029777,
            "annotations": {"buildkit/createdat": "2026-11-30T09:26:47.838867444Z"},
        },
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": "sha256:17ae67654ba489168fea292fdfea4beef93f4c8801dec5faff2716233db3ac53",
            "size": 108,
            "annotations": {"buildkit/createdat": "2026-11-30T09:27:20.63873055Z"},
        },
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": "sha256:9522e08bb48a404930e0a4b34d21433161348fff77bbe8b857b5d34975a28980",
            "size": 100229,
            "annotations": {"buildkit/createdat": "2026-11-30T09:27:20.847733109Z"},
        },
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": "sha256:ce3f2bf0c5b6861bc73d6d72c516222fbda262502330b61b72c1db8cd4d23cd3",
            "size": 3500,
            "annotations": {"buildkit/createdat": "2026-11-30T09:26:47.855159237Z"},
        },
    ],
}
# Its cache config blob: note `parent` is left out for 0 (Go's omitempty) and -1 means none.
RECORDED_CONFIG = {
    "layers": [
        {"blob": RECORDED_MANIFEST["layers"][0]["digest"], "parent": -1},
        {"blob": RECORDED_MANIFEST["layers"][1]["digest"], "parent": 3},
        {"blob": RECORDED_MANIFEST["layers"][2]["digest"], "parent": 1},
        {"blob": RECORDED_MANIFEST["layers"][3]["digest"]},
    ],
    "records": [
        {"digest": "sha256:01e4"},
        {"layers": [{"layer": 2, "createdAt": "2026-11-30T09:27:20Z"}], "digest": "sha256:4dbc"},
        {"digest": "sha256:6249"},
        {"layers": [{"layer": 1, "createdAt": "2026-11-30T09:27:20Z"}], "digest": "sha256:b5a1"},
    ],
}


def recorded() -> tuple[Reference, Manifest]:
    body = json.dumps(RECORDED_MANIFEST).encode()
    manifest = parse_manifest(body, None, "sha256:04e9b03ce74f")
    ref = parse_reference("localhost:5000/doctest/app:buildcache-linux-arm64")
    return ref, manifest


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("buildcache-linux-arm64", ("linux/arm64", None)),
        ("buildcache-linux-amd64-main", ("linux/amd64", "main")),
        ("buildcache-linux-arm-v7-fix-1", ("linux/arm/v7", "fix-1")),
        ("buildcache-linux-amd64-v2", ("linux/amd64/v2", None)),
        ("buildcache-windows-amd64", (None, None)),
        ("latest", (None, None)),
    ],
)
def test_split_cache_tag(tag: str, expected: tuple[str | None, str | None]) -> None:
    assert split_cache_tag(tag) == expected


def test_summarize_recorded_cache() -> None:
    ref, manifest = recorded()
    summary = summarize(ref, manifest)
    assert summary.size == 1180 + 1029777 + 108 + 100229 + 3500
    assert summary.layers == 4
    assert summary.updated == "2026-11-30T09:27:20.847733109Z"
    assert summary.platform == "linux/arm64" and summary.buildkit_cache


def test_describe_recorded_layers_follows_the_chain() -> None:
    _, manifest = recorded()
    layers = describe_layers(manifest, RECORDED_CONFIG)
    digests = [layer.digest for layer in layers]
    assert [layer.parent for layer in layers] == [None, digests[3], digests[1], digests[0]]
    assert [layer.records for layer in layers] == [0, 1, 1, 0]
    assert layers[1].belongs_to == "build step result (1 cache record)"
    assert layers[3].belongs_to == "base of later layers (base image or an earlier stage)"


def test_describe_layers_tolerates_a_broken_cache_config() -> None:
    _, manifest = recorded()
    layers = describe_layers(manifest, {"layers": "nonsense", "records": [1, None]})
    assert {layer.belongs_to for layer in layers} == {"not referenced by the cache config"}


def test_layers_shared_with_other_cache_refs() -> None:
    _, manifest = recorded()
    other = RECORDED_MANIFEST | {"layers": RECORDED_MANIFEST["layers"][2:]}
    others = {
        "buildcache-linux-arm64-main": parse_manifest(json.dumps(other).encode(), None, "x"),
        "buildcache-linux-arm64-old": manifest,
    }
    layers = describe_layers(manifest, RECORDED_CONFIG, others)
    assert [layer.shared_with for layer in layers] == [
        ("buildcache-linux-arm64-old",),
        ("buildcache-linux-arm64-old",),
        ("buildcache-linux-arm64-main", "buildcache-linux-arm64-old"),
        ("buildcache-linux-arm64-main", "buildcache-linux-arm64-old"),
    ]


@pytest.mark.engine
def test_rm_refuses_a_ref_that_is_not_a_cache(
    pushed: Pushed, as_user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An image pushed under a cache-looking tag (here the base image, copied by docker's own
    client into a fresh repository) next to a real cache ref: `rm --yes` of both deletes
    neither, where it deleted the cache and then the image, with every tag of its digest."""
    as_user.setenv("DOCKER_CONFIG", str(pushed.anonymous))
    image = pushed.fresh("linux/arm64")
    cache = f"{image}:buildcache-linux-arm64"
    not_cache = f"{image}:buildcache-linux-amd64"
    subprocess.run(
        ["docker", "buildx", "imagetools", "create", "-t", not_cache, BASE_IMAGE],
        capture_output=True,
        timeout=120,
        check=True,
    )
    code, out, err = run_mab(["cache", "rm", "--yes", cache, not_cache], capsys)
    assert code == EXIT_USAGE
    assert f"mab: error: {not_cache} is not a BuildKit cache" in err
    assert "nothing was deleted" in err and "Traceback" not in err
    assert out == ""
    with RegistryClient(REGISTRY, lookup_credentials=False) as client:
        for ref in (cache, not_cache):
            assert client.manifest_digest(parse_reference(ref)) is not None


def tag_again(ref: str, tag: str) -> None:
    """Point another tag at `ref`'s manifest, as `docker buildx imagetools create` would."""
    target = parse_reference(ref)
    base = f"http://{target.registry}/v2/{target.repository}/manifests"
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    got = httpx.get(f"{base}/{target.tag}", headers=accept, timeout=30)
    got.raise_for_status()
    put = httpx.put(
        f"{base}/{tag}",
        content=got.content,
        headers={"Content-Type": got.headers["Content-Type"]},
        timeout=30,
    )
    put.raise_for_status()


@pytest.mark.engine
def test_rm_refuses_a_manifest_another_tag_points_at(
    pushed: Pushed, as_user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`keepme` names the same manifest as the cache ref: a delete by digest would delete it
    too, so nothing is deleted and the error names it; naming both deletes both."""
    as_user.setenv("DOCKER_CONFIG", str(pushed.anonymous))
    image = pushed.fresh("linux/amd64")
    ref = f"{image}:buildcache-linux-amd64"
    tag_again(ref, "keepme")
    code, out, err = run_mab(["cache", "rm", "--yes", ref], capsys)
    assert code == EXIT_USAGE, err
    assert "as the tags keepme: deleting it would delete them too; nothing was deleted" in err
    assert out == "" and "Traceback" not in err
    with RegistryClient(REGISTRY, lookup_credentials=False) as client:
        for name in (ref, f"{image}:keepme"):
            assert client.manifest_digest(parse_reference(name)) is not None
    code, out, err = run_mab(["cache", "rm", "--yes", ref, f"{image}:keepme"], capsys)
    assert (code, err) == (0, "")
