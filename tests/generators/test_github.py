"""The GitHub workflow generator: golden files, and the rules every generated workflow keeps.

Update the golden files after an intended change with `MAB_UPDATE_GOLDEN=1 pytest tests/generators`
and review the diff.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from mab.config.settings import Settings
from mab.detection.project import Project
from mab.errors import UserError
from mab.files.yamlio import dump_roundtrip
from mab.generators import github
from mab.generators.github import ghexpr
from mab.generators.github.pins import PINS
from tests.generators.github_cases import CASES, EMULATED, GOLDEN_DIR, Case, _settings
from tests.golden import assert_golden

CASE_IDS = [c.name for c in CASES]


def render(case: Case, tmp: Path) -> str:
    return dump_roundtrip(github.workflow(case.load(tmp), case.settings))


def load(text: str) -> Any:
    return yaml.safe_load(text)


def steps_of(doc: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in doc["jobs"].items():
        for step in job["steps"]:
            yield job_id, step


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_golden(case: Case, tmp_path: Path) -> None:
    text = render(case, tmp_path)
    assert_golden(GOLDEN_DIR / f"{case.name}.yml", text)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_yaml_11_and_12_parsers_read_the_same(case: Case, tmp_path: Path) -> None:
    text = render(case, tmp_path)
    from_12 = YAML(typ="safe", pure=True).load(text)
    assert yaml.safe_load(text) == from_12
    assert "on" in from_12 and True not in from_12


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_step_is_marked_and_unique(case: Case, tmp_path: Path) -> None:
    doc = load(render(case, tmp_path))
    for job_id, job in doc["jobs"].items():
        assert re.fullmatch(r"(build|merge|sign|verify)(-[a-z0-9_-]+)?", job_id)
        ids = [s["id"] for s in job["steps"]]
        assert all(i.startswith("mab-") for i in ids), ids
        assert len(ids) == len(set(ids)), ids


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_scripts_take_values_only_through_env(case: Case, tmp_path: Path) -> None:
    doc = load(render(case, tmp_path))
    for _, step in steps_of(doc):
        if "run" in step:
            assert "${{" not in step["run"]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_least_privilege(case: Case, tmp_path: Path) -> None:
    doc = load(render(case, tmp_path))
    assert doc["permissions"] == {}
    for _, step in steps_of(doc):
        if step["uses"].startswith("actions/checkout@") if "uses" in step else False:
            assert step["with"]["persist-credentials"] is False
    for job_id, job in doc["jobs"].items():
        perms = job["permissions"]
        assert "timeout-minutes" in job
        if job_id == "sign":  # the only job with an OIDC token: keyless signing
            assert set(perms) <= {"id-token", "attestations", "packages"}
            assert perms["id-token"] == "write" and perms["attestations"] == "write"
            continue
        assert "id-token" not in perms
        if job_id == "verify":  # reads the published image, nothing else
            assert perms in ({}, {"packages": "read"})
            continue
        assert set(perms) <= {"contents", "packages"}
        assert perms["contents"] == "read"


def _only_when(condition: str, required: str) -> bool:
    """`condition` is `required`, or `<something> && (required)`."""
    return condition == required or condition.endswith(f" && ({required})")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_caches_are_written_only_on_trusted_runs(case: Case, tmp_path: Path) -> None:
    doc = load(render(case, tmp_path))
    for _, step in steps_of(doc):
        uses = step.get("uses", "")
        inputs = step.get("with", {})
        if uses.startswith("actions/cache@"):
            assert _only_when(step["if"], ghexpr.CACHE_WRITE), step["if"]
        if uses.startswith("actions/cache/restore@"):
            assert _only_when(step["if"], ghexpr.CACHE_READ_ONLY), step["if"]
        if "cache-to" in inputs:
            trusted_step = step.get("if") == ghexpr.CACHE_WRITE
            guarded = inputs["cache-to"].startswith(f"${{{{ ({ghexpr.CACHE_WRITE}) && ")
            assert trusted_step or guarded, inputs["cache-to"]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_actions_come_from_the_pin_table(case: Case, tmp_path: Path) -> None:
    doc = load(render(case, tmp_path))
    for _, step in steps_of(doc):
        if "uses" not in step:
            continue
        action, _, ref = step["uses"].partition("@")
        pin = PINS["/".join(action.split("/")[:2])]
        assert ref == (pin.sha if case.settings.pin else pin.major)


def test_pinned_actions_carry_their_version_beside_them(tmp_path: Path) -> None:
    text = render(CASES[0], tmp_path)
    checkout = PINS["actions/checkout"]
    assert f"uses: actions/checkout@{checkout.sha}  # {checkout.version}\n" in text


def test_registry_cache_is_per_platform_and_written_by_the_default_branch(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "go")
    doc = load(render(case, tmp_path))
    build = doc["jobs"]["build"]
    by_id = {s["id"]: s for s in build["steps"]}
    inputs = by_id["mab-build"]["with"]
    # One ref per platform, read by every run: no per-branch ref that nothing would write.
    ref = "${{ matrix.image.ref }}:buildcache-${{ matrix.platform.slug }}"
    assert inputs["cache-from"] == f"type=registry,ref={ref}"
    assert build["strategy"]["matrix"]["image"][0]["ref"] == "ghcr.io/acme/go"
    assert inputs["cache-to"].startswith(f"${{{{ ({ghexpr.CACHE_WRITE}) && ")
    own = "format('type=registry,ref={0}:buildcache-{1},mode=max,"
    assert own in inputs["cache-to"]
    assert "oci-mediatypes=true,image-manifest=true,ignore-error=true'" in inputs["cache-to"]
    # Writes happen on the one branch the push trigger runs on (besides tags).
    assert doc["env"][ghexpr.DEFAULT_BRANCH_ENV] == "main"
    assert doc["on"]["push"]["branches"] == ["main"]
    assert "refs/heads/{0}" in ghexpr.CACHE_WRITE and "refs/heads/{0}" in ghexpr.CACHE_READ_ONLY
    assert "push-by-digest=true,name-canonical=true" in inputs["outputs"]
    assert [e["runner"] for e in build["strategy"]["matrix"]["platform"]] == [
        "ubuntu-24.04",
        "ubuntu-24.04-arm",
    ]


def test_s3_cache_keeps_to_its_prefix_and_takes_secrets_from_env(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "go-native-s3")
    build = load(render(case, tmp_path))["jobs"]["build"]
    step = next(s for s in build["steps"] if s["id"] == "mab-build")
    first = step["with"]["cache-from"].splitlines()[0]
    assert first.startswith(
        "type=s3,region=eu-west-1,bucket=acme-build-cache,prefix=mab-cache/,"
        "name=${{ matrix.image.name }}-${{ matrix.platform.slug }}"
    )
    assert step["env"] == {
        "AWS_ACCESS_KEY_ID": "${{ secrets.AWS_ACCESS_KEY_ID }}",
        "AWS_SECRET_ACCESS_KEY": "${{ secrets.AWS_SECRET_ACCESS_KEY }}",
    }


def test_qemu_exports_one_cache_per_platform(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "go-qemu-gha")
    doc = load(render(case, tmp_path))
    assert list(doc["jobs"]) == ["build", "sign", "verify"]
    steps = {s["id"]: s for s in doc["jobs"]["build"]["steps"]}
    assert steps["mab-build"]["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert "cache-to" not in steps["mab-build"]["with"]
    for slug in ("linux-amd64", "linux-arm64"):
        export = steps[f"mab-cache-export-{slug}"]
        assert export["if"] == ghexpr.CACHE_WRITE
        assert export["with"]["outputs"] == "type=cacheonly"
        scope = f"${{{{ matrix.image.name }}}}-{slug}"
        assert export["with"]["cache-to"] == f"type=gha,scope={scope},mode=max,ignore-error=true"


def test_cache_mounts_are_carried_with_their_ids(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "rust")
    build = load(render(case, tmp_path))["jobs"]["build"]
    steps = {s["id"]: s for s in build["steps"]}
    (image,) = build["strategy"]["matrix"]["image"]
    assert image["deps"] == "Cargo.lock"
    cargo = steps["mab-cache-deps"]["with"]
    base = "${{ matrix.platform.slug }}-deps-${{ matrix.image.name }}@"
    assert cargo["key"] == base + "${{ steps.mab-deps.outputs.deps }}"
    assert cargo["restore-keys"] == base
    cache_map = json.loads(image["cache-map"])
    assert {"target": "/usr/local/cargo/registry", "id": "cargo-registry"} in cache_map.values()
    assert all(k.startswith("@cache@/") for k in cache_map)  # the runner's temp folder
    dance = steps["mab-cache-dance"]["with"]
    assert dance["cache-map"] == "${{ steps.mab-deps.outputs.cache-map }}"
    assert dance["builder"] == "${{ steps.mab-buildx.outputs.name }}"
    assert "runner.temp" in dance["scratch-dir"]  # never inside the build context


def test_images_without_cache_mounts_get_a_hint_not_a_useless_cache(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "monorepo")
    text = render(case, tmp_path)
    doc = load(text)
    images = {e["name"]: e for e in doc["jobs"]["build"]["strategy"]["matrix"]["image"]}
    assert "cache-map" not in images["migrate"] and "deps" not in images["migrate"]
    assert images["api"]["deps"] == "services/api/package-lock.json"
    steps = {s["id"]: s for s in doc["jobs"]["build"]["steps"]}
    assert steps["mab-cache-dance"]["if"] == "matrix.image.cache-map"
    merge = {s["id"]: s for s in doc["jobs"]["merge"]["steps"]}
    assert merge["mab-download-digests"]["with"]["pattern"] == "digests@${{ matrix.image.name }}@*"


def test_emulated_platform_and_other_registry(tmp_path: Path) -> None:
    doc = load(dump_roundtrip(github.workflow(EMULATED, CASES[-1].settings)))
    build = doc["jobs"]["build"]
    platforms = build["strategy"]["matrix"]["platform"]
    assert platforms[2] == {
        "name": "linux/riscv64",
        "runner": "ubuntu-24.04",
        "slug": "linux-riscv64",
        "emulated": True,
    }
    steps = {s["id"]: s for s in build["steps"]}
    assert steps["mab-qemu"]["if"] == "matrix.platform.emulated"
    assert "registry" not in steps["mab-login"]["with"]
    assert steps["mab-login"]["with"]["password"] == "${{ secrets.REGISTRY_PASSWORD }}"
    assert "packages" not in build["permissions"]
    assert steps["mab-build"]["with"]["build-args"] == "${{ matrix.image.build-args }}"
    assert build["strategy"]["matrix"]["image"][0]["build-args"] == "VERSION=1.0"
    assert doc["on"]["push"]["branches"] == ["trunk"]


def test_no_image_is_a_user_error() -> None:
    with pytest.raises(UserError, match="no image to build"):
        github.workflow(Project(images=()), Settings())


def test_when_escapes_braces_and_quotes() -> None:
    expr = ghexpr.when("x", "a{b}'c'${{ matrix.slug }}")
    assert expr == "${{ (x) && format('a{{b}}''c''{0}', matrix.slug) || '' }}"
    assert ghexpr.when("x", "plain") == "${{ (x) && 'plain' || '' }}"


def test_settings_helper_covers_defaults() -> None:
    assert _settings() == Settings()


def test_no_expression_from_the_repository_is_evaluated(tmp_path: Path) -> None:
    """A folder, a build arg and the default branch holding `${{ ... }}`: each `${{` is
    written as `${{ '${{' }}` where GitHub evaluates, and the branch filter holds none."""
    (case,) = [c for c in CASES if c.name == "hostile-names"]
    text = render(case, tmp_path)
    expressions = re.findall(r"\$\{\{(.*?)\}\}", text)
    assert expressions and all("secrets.DEPLOY_KEY" not in e for e in expressions)
    assert all("github.token" not in e for e in expressions)
    assert "${{ '${{' }} secrets.DEPLOY_KEY }}" in text
