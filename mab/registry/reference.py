"""Image and cache references, split the way docker splits them, and the URL each lives at."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mab.errors import UserError
from mab.registry.cacherefs import split_registry

DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


@dataclass(frozen=True)
class Reference:
    """`registry/repository[:tag][@digest]`, split the way docker splits it."""

    registry: str  # host[:port]; "docker.io" for Docker Hub
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def reference(self) -> str:
        """What goes after `/manifests/`: the digest when there is one, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.registry, self.repository, tag)


_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_HOST_RE = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])"
    r"(?::([0-9]{1,5}))?$"
)
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def parse_reference(text: str) -> Reference:
    """Parse an image or cache reference; raises `UserError` naming what is wrong."""
    raw = text.strip()
    rest, _, digest = raw.partition("@")
    registry, path = split_registry(rest)
    registry = registry.lower()
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, _, tag = path.rpartition(":")
    if registry == "docker.io" and "/" not in path:
        path = f"library/{path}"
    hint = "use registry/name[:tag], for example localhost:5000/app:buildcache-linux-arm64"
    host = _HOST_RE.match(registry)
    if host is None or int(host.group(1) or 1) > 65535:
        raise UserError(f"{text!r} is not a valid image reference (bad registry)", hint=hint)
    if not path or not all(_COMPONENT_RE.match(c) for c in path.split("/")):
        raise UserError(f"{text!r} is not a valid image reference (bad name)", hint=hint)
    if tag is not None and not _TAG_RE.match(tag):
        raise UserError(f"{text!r} is not a valid image reference (bad tag {tag!r})", hint=hint)
    if digest and not DIGEST_RE.match(digest):
        raise UserError(f"{text!r} is not a valid image reference (bad digest)", hint=hint)
    return Reference(registry, path, tag, digest or None)


def is_loopback(registry: str) -> bool:
    host = registry.rsplit("]", 1)[0] + "]" if registry.startswith("[") else registry
    host = host.split(":", 1)[0] if not host.startswith("[") else host
    return host in ("localhost", "[::1]") or host.startswith("127.")


def base_url(registry: str) -> str:
    """Docker talks plain HTTP to loopback registries and HTTPS to every other one."""
    if registry == "docker.io":
        return "https://registry-1.docker.io"
    return f"{'http' if is_loopback(registry) else 'https'}://{registry}"
