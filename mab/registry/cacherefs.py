"""Image references and BuildKit cache specs, the same for GitHub, GitLab and `mab build`. Pure.

Every platform gets its own cache: a multi-platform registry cache keeps only one platform's
records (docker/buildx#1044), and matrix jobs sharing one `gha` scope overwrite each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from mab.config.settings import Settings, platform_slug
from mab.detection.project import Image, Project

FALLBACK_IMAGE = "registry.example.com/my-image"
# Options every registry-backed cache export gets: all stages (mode=max), an OCI image manifest
# that ECR/Harbor accept (image-manifest=true), and never failing the build over the cache.
REGISTRY_EXPORT_OPTIONS = "mode=max,oci-mediatypes=true,image-manifest=true,ignore-error=true"
LOCAL_CACHE_ROOT = "/tmp/.buildx-cache"
CACHE_TAG_PREFIX = "buildcache-"


def split_registry(image_ref: str) -> tuple[str, str]:
    """An image reference's registry host and the rest ("docker.io" when it names none): the
    first path component is a host when it has a dot or a port, or is `localhost`."""
    first, _, rest = image_ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return "docker.io", image_ref


def registry_host(image_ref: str) -> str:
    """The registry part of an image reference ("docker.io" when it has none)."""
    return split_registry(image_ref)[0]


def image_ref(project: Project, settings: Settings, image: Image) -> str:
    """The image reference (no tag) for one image of the project."""
    own = settings.image_settings(image.name)
    if own is not None and own.image:
        return own.image
    if image.references and not settings.image:
        return image.references[0]  # the name the repository's own CI pushes it under
    base = settings.image or (project.remote.default_image if project.remote else FALLBACK_IMAGE)
    if len(project.images) > 1:
        return f"{base}/{image.name}"
    return base


def cache_tag(platform: str, branch_slug: str | None = None) -> str:
    """The tag of a per-platform registry cache: buildcache-linux-arm64[-<branch>]."""
    tag = f"{CACHE_TAG_PREFIX}{platform_slug(platform)}"
    return f"{tag}-{branch_slug}" if branch_slug else tag


def registry_cache_ref(image: str, platform: str, branch_slug: str | None = None) -> str:
    return f"{image}:{cache_tag(platform, branch_slug)}"


def gha_scope(image_name: str, platform: str) -> str:
    return f"{image_name}-{platform_slug(platform)}"


@dataclass(frozen=True)
class CacheSpecs:
    """`--cache-from` entries (tried in order) and the one `--cache-to` for one platform."""

    cache_from: tuple[str, ...]
    cache_to: str


def registry_specs(image: str, platform: str, branch_slug: str | None = None) -> CacheSpecs:
    default_ref = registry_cache_ref(image, platform)
    sources = []
    if branch_slug:
        sources.append(f"type=registry,ref={registry_cache_ref(image, platform, branch_slug)}")
    sources.append(f"type=registry,ref={default_ref}")
    target = registry_cache_ref(image, platform, branch_slug)
    return CacheSpecs(tuple(sources), f"type=registry,ref={target},{REGISTRY_EXPORT_OPTIONS}")


def gha_specs(image_name: str, platform: str) -> CacheSpecs:
    scope = gha_scope(image_name, platform)
    return CacheSpecs(
        (f"type=gha,scope={scope}",), f"type=gha,scope={scope},mode=max,ignore-error=true"
    )


def local_specs(image_name: str, platform: str) -> CacheSpecs:
    src = f"{LOCAL_CACHE_ROOT}/{gha_scope(image_name, platform)}"
    return CacheSpecs((f"type=local,src={src}",), f"type=local,dest={src}-new,mode=max")


def s3_name(image_name: str, platform: str) -> str:
    """The `name=` of a per-platform s3 cache: the manifest's name under `<prefix>manifests/`."""
    return gha_scope(image_name, platform)


def s3_specs(
    settings: Settings, image_name: str, platform: str, name_suffix: str = ""
) -> CacheSpecs:
    """Per-platform s3 cache. BuildKit keeps blobs under `<prefix>blobs/` (shared, so platforms
    and branches deduplicate) and each cache's manifest at `<prefix>manifests/<name>`; `prefix`
    is what confines everything mab writes to one folder of the bucket."""
    assert settings.s3 is not None
    s3 = settings.s3
    base = f"type=s3,region={s3.region},bucket={s3.bucket},prefix={s3.prefix}"
    default = f"{base},name={s3_name(image_name, platform)}"
    own = f"{default}{name_suffix}"
    sources = (own, default) if name_suffix else (default,)
    return CacheSpecs(sources, f"{own},mode=max,ignore-error=true")
