"""Attestations, signing and verification in the generated GitHub workflow: provenance and SBOM
on every platform's build, the published digest handed from the merge to `sign` (the only job
with an OIDC token) and `verify` (`mab verify` on it), and the opt-outs (`sign: false`,
`sbom: false` in .mab.yml, `--no-sign`, `--no-sbom`).

Keyless signing needs GitHub's OIDC issuer, which does not exist here: these jobs are checked by
actionlint, check-jsonschema and zizmor (test_validators.py) and by their shape below; the
signature format `mab verify` reads is tested for real with cosign and a key pair in
tests/registry/test_verify_engine.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from ruamel.yaml import YAML

from mab.files.yamlio import dump_roundtrip
from mab.generators import github
from tests.fixture_repos import copy_fixture_repo
from tests.generators.github_cases import CASES, Case


def _doc(case: Case, tmp_path: Path, **changes: Any) -> dict[str, Any]:
    project = case.load(tmp_path)
    settings = msgspec.structs.replace(case.settings, **changes)
    data: dict[str, Any] = YAML(typ="safe", pure=True).load(
        dump_roundtrip(github.workflow(project, settings))
    )
    return data


def _case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def _step(job: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if s["id"] == step_id)


@pytest.mark.parametrize("name", ["node", "go-qemu-registry"])
def test_every_build_attests_and_the_published_digest_is_signed_then_verified(
    name: str, tmp_path: Path
) -> None:
    doc = _doc(_case(name), tmp_path)
    jobs = doc["jobs"]
    build = _step(jobs["build"], "mab-build")["with"]
    assert build["provenance"] == (
        "${{ github.event.repository.visibility == 'public' && 'mode=max' || 'mode=min' }}"
    )
    assert build["sbom"] is True
    publisher = "build" if name.endswith("qemu-registry") else "merge"
    assert (
        _step(jobs[publisher], "mab-upload-merged")["with"]["name"]
        == "merged@${{ matrix.image.name }}"
    )
    sign, verify = jobs["sign"], jobs["verify"]
    assert sign["needs"] == publisher and verify["needs"] == [publisher, "sign"]
    assert sign["permissions"]["id-token"] == "write"
    assert all("id-token" not in j.get("permissions", {}) for n, j in jobs.items() if n != "sign")
    assert "cosign sign --yes" in _step(sign, "mab-sign")["run"]
    assert _step(sign, "mab-attest")["if"] == "github.event.repository.visibility == 'public'"
    script = _step(verify, "mab-verify")["run"]
    assert 'mab verify "$(cat "$published")" --platform "$MAB_PLATFORMS" || status=1' in script
    for job in (sign, verify):
        assert job["if"] == "!cancelled() && github.event_name != 'pull_request'"


def test_sign_false_drops_the_signing_job_and_verify_stops_asking_for_a_signature(
    tmp_path: Path,
) -> None:
    doc = _doc(_case("node"), tmp_path, sign=False)
    assert "sign" not in doc["jobs"]
    verify = doc["jobs"]["verify"]
    assert verify["needs"] == ["merge"]
    assert '--platform "$MAB_PLATFORMS" --no-sign || status=1' in _step(verify, "mab-verify")["run"]


def test_sbom_false_drops_the_sbom_attestation_and_verify_stops_asking_for_one(
    tmp_path: Path,
) -> None:
    doc = _doc(_case("node"), tmp_path, sbom=False)
    assert "sbom" not in _step(doc["jobs"]["build"], "mab-build")["with"]
    assert "--no-sbom" in _step(doc["jobs"]["verify"], "mab-verify")["run"]


def test_init_ci_flags_and_the_file_keep_the_opt_outs(
    run_mab: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_fixture_repo("node", tmp_path)
    args = [
        "init-ci",
        str(root),
        "--github",
        "--image",
        "ghcr.io/acme/node",
        "--default-branch",
        "main",
    ]
    assert run_mab(*args, "--no-sign", "--no-sbom") == 0
    config = (root / ".mab.yml").read_text()
    assert "sign: false" in config and "sbom: false" in config
    workflow = (root / ".github/workflows/mab.yml").read_text()
    assert "cosign" not in workflow and "sbom: true" not in workflow
    assert run_mab(*args, "--check") == 0  # the file keeps them: a re-run changes nothing
    assert run_mab(*args, "--sign") == 0
    assert "id: mab-sign" in (root / ".github/workflows/mab.yml").read_text()
    capsys.readouterr()
