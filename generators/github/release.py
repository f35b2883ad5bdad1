"""What makes a published image trustworthy, in the GitHub workflow: attestations on every
platform's build, a keyless cosign signature and GitHub's build provenance on the merged
index, and a job that runs `mab verify` on the digest just published.

- Every platform's build carries a provenance attestation (`mode=max` in a public repository,
  whose build details are public anyway; `mode=min` otherwise) and an SBOM (`Settings.sbom`).
  They live in each platform's pushed index, and `docker buildx imagetools create` keeps them
  when it merges those indexes by digest.
- The job that publishes keeps the merged digest as a one-day artifact (`merged@<image>`).
- `sign` (`Settings.sign`): the only job with `id-token: write`. cosign signs the digest
  keylessly (GitHub's OIDC token, Sigstore's public-good instance) and verifies the signature
  against this workflow's identity at once; in a public repository
  `actions/attest-build-provenance` adds GitHub's own attestation.
- `verify`: `mab verify IMAGE@DIGEST` against the platforms of `.mab.yml`: every platform
  there, every ELF binary built for its platform, attestations bound to each platform,
  a signature present. A finding fails the job, so the run shows the release is wrong.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap

from mab import __version__
from mab.config.distribution import DISTRIBUTION
from mab.config.settings import GITHUB_DEFAULT_RUNNER, Settings

from . import ghexpr
from .actionsteps import IMAGE_NAME, IMAGE_REF, logins
from .jobparts import registries
from .matrix import Target, merge_entry
from .steps import action_step, commented_map, run_step

PUBLIC = "github.event.repository.visibility == 'public'"
PROVENANCE = ghexpr.wrap(f"{PUBLIC} && 'mode=max' || 'mode=min'")
MERGED_DIR = "${{ runner.temp }}/mab-merged"
MERGED_ARTIFACT = f"merged@{IMAGE_NAME}"
OIDC_ISSUER = "https://token.actions.githubusercontent.com"
RELEASE_TIMEOUT_MINUTES = 15
_KEEP_SCRIPT = """
# the index just made, by the run's own sha- tag: its digest is the sha256 of its bytes
digest=$(docker buildx imagetools inspect --raw "$MAB_IMAGE:sha-${GITHUB_SHA::7}" | sha256sum)
mkdir -p "$RUNNER_TEMP/mab-merged"
echo "$MAB_IMAGE@sha256:${digest%% *}" >"$RUNNER_TEMP/mab-merged/$MAB_NAME"
"""
_KEEP_BUILT_SCRIPT = """
mkdir -p "$RUNNER_TEMP/mab-merged"
echo "$MAB_IMAGE@$MAB_DIGEST" >"$RUNNER_TEMP/mab-merged/$MAB_NAME"
"""
_READ_SCRIPT = """
published=$(cat "$RUNNER_TEMP/mab-merged/$MAB_NAME")
if ! echo "${published#*@}" | grep -Eqx 'sha256:[0-9a-f]{64}'; then
  echo "::error title=mab::$MAB_NAME: no digest of the published image"
  exit 1
fi
echo "digest=${published#*@}" >>"$GITHUB_OUTPUT"
"""
_SIGN_SCRIPT = """
cosign sign --yes "$MAB_IMAGE@$MAB_DIGEST"
cosign verify "$MAB_IMAGE@$MAB_DIGEST" --certificate-identity "$MAB_IDENTITY" \\
  --certificate-oidc-issuer "$MAB_ISSUER" >/dev/null
"""
_VERIFY_SCRIPT = """
pipx install --quiet "$MAB_PIP_SPEC"
status=0
for published in "$RUNNER_TEMP"/mab-merged/*; do
  mab verify "$(cat "$published")" --platform "$MAB_PLATFORMS"{flags} || status=1
done
exit "$status"
"""


def attest_inputs(settings: Settings) -> dict[str, Any]:
    """build-push-action's attestation inputs for a platform's build."""
    inputs: dict[str, Any] = {"provenance": PROVENANCE}
    if settings.sbom:
        inputs["sbom"] = True
    return inputs


def keep_digest(settings: Settings, *, from_build: bool) -> list[CommentedMap]:
    """Keep the published index's digest for the signing and verifying jobs: from the merged
    tag, or (`from_build`, one build of every platform) from the build's own output."""
    if from_build:
        keep = run_step("mab-keep-merged", "Keep the published digest", _KEEP_BUILT_SCRIPT,
                        if_=ghexpr.PUBLISH,
                        env={"MAB_NAME": IMAGE_NAME, "MAB_IMAGE": IMAGE_REF,
                             "MAB_DIGEST": "${{ steps.mab-build.outputs.digest }}"})  # fmt: skip
    else:
        keep = run_step(
            "mab-keep-merged",
            "Keep the published digest",
            _KEEP_SCRIPT,
            env={"MAB_NAME": IMAGE_NAME, "MAB_IMAGE": IMAGE_REF},
        )
    upload = action_step(
        "mab-upload-merged",
        "Upload the published digest",
        "actions/upload-artifact",
        pin=settings.pin,
        if_=ghexpr.PUBLISH if from_build else None,
        with_={"name": MERGED_ARTIFACT, "path": f"{MERGED_DIR}/{IMAGE_NAME}",
               "if-no-files-found": "error", "retention-days": 1},
    )  # fmt: skip
    return [keep, upload]


def _download(settings: Settings, *, every_image: bool) -> CommentedMap:
    name = (
        {"pattern": "merged@*", "merge-multiple": True}
        if every_image
        else {"name": MERGED_ARTIFACT}
    )
    return action_step(
        "mab-download-merged",
        "Download the published digests" if every_image else "Download the published digest",
        "actions/download-artifact",
        pin=settings.pin,
        with_={**name, "path": MERGED_DIR},
    )


def _job(name: str, needs: str | list[str], perms: CommentedMap, steps: list[CommentedMap],
         matrix: list[Target] | None = None) -> CommentedMap:  # fmt: skip
    job: dict[str, Any] = {
        "name": f"{name} {IMAGE_NAME}" if matrix else f"{name} the published images",
        "needs": needs,
        "if": f"!cancelled() && {ghexpr.PUBLISH}",
        "runs-on": GITHUB_DEFAULT_RUNNER,
        "timeout-minutes": RELEASE_TIMEOUT_MINUTES,
        "permissions": perms,
    }
    if matrix:
        entries = [merge_entry(t) for t in matrix]
        job["strategy"] = {"fail-fast": False, "matrix": {"image": entries}}
    job["steps"] = steps
    return commented_map(job)


def _permissions(targets: list[Target], items: list[tuple[str, str, str]]) -> CommentedMap:
    perms = CommentedMap()
    for key, value, why in items:
        if key == "packages" and "ghcr.io" not in registries(targets):
            continue
        perms[key] = value
        perms.yaml_add_eol_comment(why, key)
    return perms


def sign_job(targets: list[Target], settings: Settings, after: str) -> CommentedMap:
    """One per image: the attestation action signs one subject per step."""
    digest = "${{ steps.mab-digest.outputs.digest }}"
    steps = [
        _download(settings, every_image=False),
        run_step("mab-digest", "Read the digest", _READ_SCRIPT, env={"MAB_NAME": IMAGE_NAME}),
        *logins(registries(targets), settings),
        action_step("mab-cosign", "Install cosign", "sigstore/cosign-installer", pin=settings.pin),
        run_step(
            "mab-sign",
            "Sign the image (keyless)",
            _SIGN_SCRIPT,
            env={
                "MAB_IMAGE": IMAGE_REF,
                "MAB_DIGEST": digest,
                "MAB_IDENTITY": "${{ github.server_url }}/${{ github.workflow_ref }}",
                "MAB_ISSUER": OIDC_ISSUER,
            },
        ),
        action_step(
            "mab-attest",
            "Attest the build provenance",
            "actions/attest-build-provenance",
            pin=settings.pin,
            if_=PUBLIC,
            with_={"subject-name": IMAGE_REF, "subject-digest": digest,
                   "push-to-registry": True, "create-storage-record": False},
        ),
    ]  # fmt: skip
    perms = _permissions(
        targets,
        [
            ("id-token", "write", "keyless signing: GitHub's OIDC token names this workflow"),
            ("attestations", "write", "store GitHub's build provenance attestation"),
            ("packages", "write", "push the signature and the attestation to GHCR"),
        ],
    )
    return _job("Sign", after, perms, steps, matrix=targets)


def verify_job(targets: list[Target], settings: Settings, after: list[str]) -> CommentedMap:
    """One for every image: `mab verify` on each digest published in this run."""
    off = (("--no-sign", not settings.sign), ("--no-sbom", not settings.sbom))
    flags = "".join(f" {flag}" for flag, on in off if on)
    steps = [
        _download(settings, every_image=True),
        *logins(registries(targets), settings),
        run_step(
            "mab-verify",
            "Verify the published images",
            _VERIFY_SCRIPT.format(flags=flags),
            env={
                "MAB_PIP_SPEC": f"{DISTRIBUTION}=={__version__}",
                "MAB_PLATFORMS": ",".join(settings.platforms),
            },
        ),
    ]
    perms = _permissions(targets, [("packages", "read", "read the images and signatures in GHCR")])
    return _job("Verify", after, perms, steps)


def release_jobs(targets: list[Target], settings: Settings, after: str) -> dict[str, Any]:
    """`sign` (unless `Settings.sign` is off) and `verify`, after the job that publishes."""
    jobs: dict[str, Any] = {}
    if settings.sign:
        jobs["sign"] = sign_job(targets, settings, after)
    jobs["verify"] = verify_job(targets, settings, [after, *jobs])
    return jobs
