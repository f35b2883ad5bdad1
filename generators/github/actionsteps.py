"""The steps every mab job is made of: check-out, QEMU, Buildx, registry log-ins, tags and labels,
the build itself, and handing a digest to the merge job. Values that differ per image or
platform come in as expressions over the job's matrix (`IMAGE`, `PLATFORM`)."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap

from mab.config.settings import Settings

from . import ghexpr
from .steps import action_step, run_step

# The matrix values a job reads (see `matrix`).
IMAGE = "matrix.image"
PLATFORM = "matrix.platform"
IMAGE_NAME = "${{ matrix.image.name }}"
IMAGE_REF = "${{ matrix.image.ref }}"
PLATFORM_NAME = "${{ matrix.platform.name }}"
PLATFORM_SLUG = "${{ matrix.platform.slug }}"
DIGEST_DIR = "${{ runner.temp }}/mab-digests"
STAGING_TAG = "mab-staging"  # with a builder that cannot push by digest: <image>:mab-staging-<slug>
METADATA_TAGS = (
    "type=ref,event=branch",
    "type=semver,pattern={{version}}",
    "type=semver,pattern={{major}}.{{minor}}",
    "type=sha",
)
# Artifact names join the image and the platform with "@", which no image name holds, so one
# image's pattern never matches another image whose name starts the same way.
ARTIFACT = f"digests@{IMAGE_NAME}@{PLATFORM_SLUG}"
ARTIFACT_PATTERN = f"digests@{IMAGE_NAME}@*"
REPORT_ARTIFACT = f"mab-report@{IMAGE_NAME}"
_DIGEST_SCRIPT = """
mkdir -p "$RUNNER_TEMP/mab-digests"
touch "$RUNNER_TEMP/mab-digests/${MAB_DIGEST#sha256:}"
"""


def checkout(settings: Settings) -> CommentedMap:
    return action_step(
        "mab-checkout",
        "Check out",
        "actions/checkout",
        pin=settings.pin,
        with_={"persist-credentials": False},
    )


def qemu(settings: Settings, platforms: str, if_: str | None = None) -> CommentedMap:
    return action_step(
        "mab-qemu",
        "Set up QEMU",
        "docker/setup-qemu-action",
        pin=settings.pin,
        if_=if_,
        with_={"platforms": platforms},
    )


def buildx(settings: Settings) -> CommentedMap:
    """The builder, as `github.buildx` in `.mab.yml` says (the action's default when unset)."""
    given = settings.github.buildx
    inputs: dict[str, Any] = {}
    if given.driver != "docker-container":
        inputs["driver"] = given.driver
    if given.driver_opts:
        inputs["driver-opts"] = "\n".join(given.driver_opts)
    if given.endpoint:
        inputs["endpoint"] = given.endpoint
    if given.driver == "docker":
        # The action makes no builder for the docker driver, so there is nothing to remove;
        # its clean-up of ~/.docker/buildx/certs races with other jobs on a machine whose
        # runners share one home (a failed post step fails the job).
        inputs["cleanup"] = False
    return action_step(
        "mab-buildx",
        "Set up Buildx",
        "docker/setup-buildx-action",
        pin=settings.pin,
        with_=inputs or None,
    )


def image_output(settings: Settings, image: str, slug: str) -> str:
    """Where a platform's image goes. By digest alone, for the merge to join; a builder that
    cannot push by digest (the `docker` driver) pushes to a staging tag of the platform's own,
    overwritten by the next run, and the merge joins the same digests."""
    push = f"push=${{{{ {ghexpr.PUBLISH} }}}}"
    if settings.github.buildx.pushes_by_digest:
        return f"type=image,name={image},push-by-digest=true,name-canonical=true,{push}"
    return f"type=image,name={image}:{STAGING_TAG}-{slug},{push}"


def logins(registries: tuple[str, ...], settings: Settings) -> list[CommentedMap]:
    """One log-in per registry the images go to (`mab-login`, `mab-login-2`, ...)."""
    steps = []
    for i, registry in enumerate(registries):
        inputs: dict[str, str] = {}
        if registry != "docker.io":
            inputs["registry"] = registry
        if registry == "ghcr.io":
            inputs["username"] = settings.registry_user or "${{ github.actor }}"
            inputs["password"] = "${{ secrets.GITHUB_TOKEN }}"
        else:
            inputs["username"] = settings.registry_user or "${{ secrets.REGISTRY_USERNAME }}"
            inputs["password"] = "${{ secrets.REGISTRY_PASSWORD }}"
        steps.append(
            action_step(
                "mab-login" if i == 0 else f"mab-login-{i + 1}",
                f"Log in to {registry}",
                "docker/login-action",
                pin=settings.pin,
                if_=ghexpr.LOGIN,
                with_=inputs,
            )
        )
    return steps


def metadata(settings: Settings, *, tags: bool) -> CommentedMap:
    inputs: dict[str, str] = {"images": IMAGE_REF}
    if tags:
        inputs["tags"] = "\n".join(METADATA_TAGS)
    return action_step(
        "mab-meta",
        "Tags and labels" if tags else "Labels",
        "docker/metadata-action",
        pin=settings.pin,
        with_=inputs,
    )


def build_push(
    step_id: str,
    name: str,
    settings: Settings,
    inputs: dict[str, Any],
    env: dict[str, str],
    *,
    if_: str | None = None,
) -> CommentedMap:
    return action_step(
        step_id,
        name,
        "docker/build-push-action",
        pin=settings.pin,
        if_=if_,
        with_=inputs,
        env=env or None,
    )


def image_inputs(keys: frozenset[str], platforms: str) -> dict[str, Any]:
    """context, file, [target], [build-args] from the matrix (the optional ones only when some
    image sets them: an empty value means the default), then the platforms."""
    inputs: dict[str, Any] = {
        "context": "${{ matrix.image.context }}",
        "file": "${{ matrix.image.file }}",
    }
    for key in ("target", "build-args"):
        if key in keys:
            inputs[key] = f"${{{{ {IMAGE}.{key} }}}}"
    inputs["platforms"] = platforms
    return inputs


def digest_steps(settings: Settings) -> list[CommentedMap]:
    """Keep the pushed digest and upload it for the merge job."""
    return [
        run_step(
            "mab-digest",
            "Keep the digest",
            _DIGEST_SCRIPT,
            if_=ghexpr.PUBLISH,
            env={"MAB_DIGEST": "${{ steps.mab-build.outputs.digest }}"},
        ),
        action_step(
            "mab-upload-digest",
            "Upload the digest",
            "actions/upload-artifact",
            pin=settings.pin,
            if_=ghexpr.PUBLISH,
            with_={
                "name": ARTIFACT,
                "path": f"{DIGEST_DIR}/*",
                "if-no-files-found": "error",
                "retention-days": 1,
            },
        ),
    ]


def report_step(settings: Settings, per_platform: bool) -> CommentedMap:
    """Keep the build's HTML report (`mab build --ci` writes it) as an artifact, also when the
    build failed: the job summary links to the run's artifacts."""
    name = f"{REPORT_ARTIFACT}@{PLATFORM_SLUG}" if per_platform else REPORT_ARTIFACT
    return action_step(
        "mab-upload-report",
        "Upload the build report",
        "actions/upload-artifact",
        pin=settings.pin,
        if_="${{ !cancelled() && steps.mab-build.outputs.report-path != '' }}",
        with_={
            "name": name,
            "path": "${{ steps.mab-build.outputs.report-path }}",
            "if-no-files-found": "ignore",
            "retention-days": 14,
        },
    )
