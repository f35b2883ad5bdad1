"""`mab verify` against images the real engine builds and pushes to the local registry, the
way mab's pipelines publish them: one build per platform with
`--attest type=provenance,mode=max`, pushed on its own, merged by digest with
`docker buildx imagetools create`.

Signing is real too: trixie's cosign (unpacked by `scripts/engine-up.sh` into the engine
prefix) signs with a key pair made here. Keyless signing needs an OIDC issuer (GitHub's or
GitLab's), which does not exist here: the generated signing jobs are covered by actionlint,
check-jsonschema, gitlab-ci-local and zizmor only (tests/generators). SBOM attestations need
BuildKit's scanner image from Docker Hub, which is out of reach here, so these images are
checked with `--no-sbom`; the SBOM rules are covered with recorded shapes in
tests/registry/test_verify.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.engine_env import BASE_IMAGE, REGISTRY

pytestmark = pytest.mark.engine

COSIGN = Path(os.environ.get("MAB_ENGINE_PREFIX", "/opt/mab-engine")) / "bin" / "cosign"
BUSYBOX_DEBS = Path("/var/cache/mab-engine/busybox")
INDEX = "application/vnd.oci.image.index.v1+json"


def _run(*argv: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=600, check=False, env=env, cwd=cwd
    )
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _busybox(arch: str, into: Path) -> Path:
    """Debian's static busybox for `arch`, taken from the .deb engine-up.sh cached."""
    deb = next(BUSYBOX_DEBS.glob(f"busybox-static_*_{arch}.deb"))
    (into / arch).mkdir(parents=True)
    _run("dpkg-deb", "-x", str(deb), str(into / arch))
    return into / arch / "bin" / "busybox"


def _push_platform(context: Path, repo: str, platform: str) -> str:
    """One platform's build, pushed on its own; its digest is what the merge takes. (The
    pipelines push by digest, `push-by-digest=true`, which the `docker` driver here does not
    implement; the pushed index, image and attestation manifest, is the same.)"""
    meta = context / f"meta-{platform.replace('/', '-')}.json"
    tag = f"{repo}:{context.name}-{platform.rsplit('/', 1)[1]}"
    _run(
        "docker", "buildx", "build", "--platform", platform,
        "--attest", "type=provenance,mode=max",
        "--output", f"type=image,name={tag},push=true",
        "--metadata-file", str(meta), str(context),
    )  # fmt: skip
    return str(json.loads(meta.read_text())["containerimage.digest"])


def _merge(repo: str, tag: str, digests: list[str]) -> str:
    _run("docker", "buildx", "imagetools", "create", "-t", f"{repo}:{tag}",
         *(f"{repo}@{d}" for d in digests))  # fmt: skip
    request = urllib.request.Request(
        f"http://{REGISTRY}/v2/{repo.split('/', 1)[1]}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": INDEX},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.headers["Docker-Content-Digest"])


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Three tags of one repository: `good` (both platforms right), `bad` (arm64 carries the
    x86-64 busybox), `partial` (a merge that left linux/arm64 out)."""
    from tests import engine_env

    ok, reason = engine_env.engine_available()
    if not ok:
        pytest.skip(f"real engine not available: {reason}")
    root = tmp_path_factory.mktemp("verify")
    bins = root / "bins"
    amd64, arm64 = _busybox("amd64", bins), _busybox("arm64", bins)
    repo = f"{REGISTRY}/mab-verify-test/{uuid.uuid4().hex[:10]}"
    digests: dict[str, dict[str, str]] = {}
    for name, arm_binary in (("good", arm64), ("bad", amd64)):
        context = root / name
        context.mkdir()
        (context / "tool-amd64").write_bytes(amd64.read_bytes())
        (context / "tool-arm64").write_bytes(arm_binary.read_bytes())
        (context / "run.sh").write_text("#!/bin/sh\necho a script, not a binary\n")
        (context / "Dockerfile").write_text(
            f"FROM {BASE_IMAGE}\nARG TARGETARCH\n"
            "COPY tool-${TARGETARCH} /usr/local/bin/tool\nCOPY run.sh /usr/local/bin/run.sh\n"
        )
        digests[name] = {
            p: _push_platform(context, repo, p) for p in ("linux/amd64", "linux/arm64")
        }
    tags = {
        "repo": repo,
        "good": _merge(repo, "good", list(digests["good"].values())),
        "bad": _merge(repo, "bad", list(digests["bad"].values())),
        "partial": _merge(repo, "partial", [digests["good"]["linux/amd64"]]),
    }
    return tags


def _verify(
    run_mab: Callable[..., int], capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = run_mab("verify", "--platform", "linux/amd64,linux/arm64", "--no-sbom", "--json", *args)
    return code, json.loads(capsys.readouterr().out)


def test_a_correct_two_platform_image_passes(
    published: dict[str, str], run_mab: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _verify(run_mab, capsys, "--no-sign", f"{published['repo']}:good")
    assert report["findings"] == [] and code == 0
    platforms = {p["platform"]: p for p in report["platforms"]}
    assert set(platforms) == {"linux/amd64", "linux/arm64"}
    for p in platforms.values():
        assert p["digest"].startswith("sha256:")
        assert p["elf_files"] >= 2  # the base image's busybox and the copied tool
        assert p["bases"] and p["bases"][0]["image"]["name"] == BASE_IMAGE
        assert p["bases"][0]["size"] > 0


def test_provenance_survives_push_by_digest_and_the_merge(
    published: dict[str, str], run_mab: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    _code, report = _verify(run_mab, capsys, "--no-sign", f"{published['repo']}:good")
    for p in report["platforms"]:
        provenance = [a for a in p["attestations"] if a["kind"] == "provenance"]
        assert len(provenance) == 1, p
        assert provenance[0]["bound"] is True
        assert provenance[0]["detail"] == "SLSA v0.2, mode=max"
    code, _ = _verify(run_mab, capsys, "--no-sign", f"{published['repo']}@{published['good']}")
    assert code == 0


def test_an_arm64_variant_holding_an_x86_64_binary_is_flagged_with_its_path(
    published: dict[str, str], run_mab: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _verify(run_mab, capsys, "--no-sign", f"{published['repo']}:bad")
    assert code == 1
    wrong = [(f["platform"], f["kind"]) for f in report["findings"]]
    assert wrong == [("linux/arm64", "wrong-architecture")]
    (finding,) = report["findings"]
    assert "/usr/local/bin/tool" in finding["message"] and "x86-64" in finding["message"]
    arm = next(p for p in report["platforms"] if p["platform"] == "linux/arm64")
    assert [w["path"] for w in arm["wrong"]] == ["/usr/local/bin/tool"]
    assert arm["wrong"][0]["layer"].startswith("sha256:")
    assert run_mab("verify", "--no-sign", "--no-sbom", f"{published['repo']}:bad") == 1
    text = capsys.readouterr().out
    assert "✗ /usr/local/bin/tool: x86-64 (64-bit) static executable" in text


def test_a_merged_index_missing_a_platform_is_flagged(
    published: dict[str, str], run_mab: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _verify(run_mab, capsys, "--no-sign", f"{published['repo']}:partial")
    assert code == 1
    assert [(f["platform"], f["kind"]) for f in report["findings"]] == [
        ("linux/arm64", "missing-platform")
    ]


def test_layers_shared_between_platforms_and_tags_are_read_once(
    published: dict[str, str], run_mab: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    _code, report = _verify(run_mab, capsys, "--no-sign", f"{published['repo']}:good")
    layers = [layer for p in report["platforms"] for layer in range(p["layers"])]
    # the run.sh layer is the same blob on both platforms: one fewer read than layers listed
    assert report["layers_read"] == len(layers) - 1


def test_a_cosign_signature_verifies_with_its_key_and_a_tampered_one_fails(
    published: dict[str, str],
    run_mab: Callable[..., int],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    if not COSIGN.exists():
        pytest.skip(f"no cosign at {COSIGN}: run scripts/engine-up.sh")
    env = {**os.environ, "COSIGN_PASSWORD": "", "HOME": str(tmp_path)}
    _run(str(COSIGN), "generate-key-pair", env=env, cwd=tmp_path)
    repo, good = published["repo"], published["good"]
    for digest in (good, published["bad"]):
        sign = ("sign", "--key", "cosign.key", "--tlog-upload=false", "--allow-insecure-registry")
        _run(str(COSIGN), *sign, "-y", f"{repo}@{digest}", env=env, cwd=tmp_path)
    key = str(tmp_path / "cosign.pub")
    code, report = _verify(run_mab, capsys, "--key", key, f"{repo}:good")
    assert code == 0, report["findings"]
    assert [s["verified"] for s in report["signatures"]] == [True]

    # another key pair: the signature is there but is not this key's
    other = tmp_path / "other"
    other.mkdir()
    _run(str(COSIGN), "generate-key-pair", env=env, cwd=other)
    code, report = _verify(run_mab, capsys, "--key", str(other / "cosign.pub"), f"{repo}:good")
    assert code == 1 and {f["kind"] for f in report["findings"]} == {"bad-signature"}

    # tampered: the good image's .sig tag now holds the bad image's (valid) signature
    path = repo.split("/", 1)[1]
    sig = lambda d: f"http://{REGISTRY}/v2/{path}/manifests/{d.replace(':', '-')}.sig"  # noqa: E731
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    with urllib.request.urlopen(urllib.request.Request(sig(published["bad"]), headers=accept)) as r:
        body, media_type = r.read(), r.headers["Content-Type"]
    put = urllib.request.Request(
        sig(good), data=body, method="PUT", headers={"Content-Type": media_type}
    )
    urllib.request.urlopen(put, timeout=10).close()
    code, report = _verify(run_mab, capsys, "--key", key, f"{repo}:good")
    assert code == 1
    assert report["signatures"][0]["verified"] is False
    assert published["bad"] in report["signatures"][0]["detail"]
