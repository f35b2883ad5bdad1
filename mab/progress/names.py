"""Vertex names: what a vertex is and which platform, stage and step it names. Pure.

`[linux/arm64 deps 2/4] RUN make` is a Dockerfile step; `[linux/amd64->arm64 build 1/3]` a
stage cross-compiling for linux/arm64; `importing cache manifest from ...` a cache import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What a vertex is, from its name."""

    STEP = "step"  # a Dockerfile instruction other than FROM
    BASE_IMAGE = "base_image"  # FROM, and `load metadata for` its image
    INTERNAL = "internal"  # build definition, context, .dockerignore, auth
    CACHE_IMPORT = "cache_import"
    CACHE_EXPORT = "cache_export"
    IMAGE_EXPORT = "image_export"
    PUSH = "push"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class ParsedName:
    kind: Kind
    platform: str = ""  # the target platform named in the prefix, if any
    target: str = ""  # the bake target named in the prefix, if any
    stage: str = ""
    index: int = 0  # i of `i/n`; 0 when not a Dockerfile instruction
    total: int = 0
    instruction: str = ""

    @property
    def seeded(self) -> bool:
        """Vertices that carry a platform prefix when several platforms are built."""
        return self.kind in (Kind.STEP, Kind.BASE_IMAGE)


_NAME = re.compile(r"\[([^\]]*)\]\s?(.*)", re.DOTALL)
_INDEX = re.compile(r"(\d+)/(\d+)")
_PLATFORM = re.compile(r"([a-z0-9]+)/[a-z0-9_]+(?:/[a-z0-9.]+)?(?:->[a-z0-9_./]+)?")
_OSES = frozenset(
    [
        "linux",
        "windows",
        "darwin",
        "freebsd",
        "netbsd",
        "openbsd",
        "solaris",
        "illumos",
        "aix",
        "plan9",
        "android",
        "ios",
    ]
)
_KINDS = (
    ("load metadata for", Kind.BASE_IMAGE),
    ("docker-image://", Kind.BASE_IMAGE),
    ("importing cache", Kind.CACHE_IMPORT),
    ("exporting cache", Kind.CACHE_EXPORT),
    ("preparing build cache", Kind.CACHE_EXPORT),
    ("writing cache", Kind.CACHE_EXPORT),
    ("writing layer", Kind.CACHE_EXPORT),
    ("writing config", Kind.CACHE_EXPORT),
    ("exporting", Kind.IMAGE_EXPORT),
    ("naming to", Kind.IMAGE_EXPORT),
    ("unpacking to", Kind.IMAGE_EXPORT),
    ("sending tarball", Kind.IMAGE_EXPORT),
    ("copying files", Kind.IMAGE_EXPORT),
    ("pushing", Kind.PUSH),
    ("load build definition", Kind.INTERNAL),
    ("load .dockerignore", Kind.INTERNAL),
    ("load build context", Kind.INTERNAL),
    ("load remote build context", Kind.INTERNAL),
    ("resolve image config", Kind.INTERNAL),
)


def target_platform(token: str) -> str:
    """`linux/amd64->arm64` (a stage cross-compiling on amd64) builds for `linux/arm64`."""
    if "->" not in token:
        return token
    build, target = token.split("->", 1)
    if target.split("/", 1)[0] in _OSES:
        return target
    return f"{build.split('/', 1)[0]}/{target}"


def _kind_of(text: str) -> Kind:
    lowered = text.lower()
    for prefix, kind in _KINDS:
        if lowered.startswith(prefix):
            return kind
    return Kind.OTHER


def parse_name(name: str) -> ParsedName:
    """Classify a vertex by its name; `[linux/arm64 deps 2/4] RUN x` is a Dockerfile step.
    The prefix is read strictly: a platform is `os/arch[/variant]` of a known OS, a step's
    position `i/n` with 0 < i <= n; anything else in the brackets is a name (a stage, a bake
    target), never taken for a platform."""
    m = _NAME.match(name)
    if m is None:
        return ParsedName(_kind_of(name))
    platform = ""
    index = total = 0
    rest: list[str] = []
    special = ""
    for token in m.group(1).split():
        numbers = _INDEX.fullmatch(token)
        platform_token = _PLATFORM.fullmatch(token)
        if numbers and 0 < int(numbers.group(1)) <= int(numbers.group(2)):
            index, total = int(numbers.group(1)), int(numbers.group(2))
        elif platform_token and platform_token.group(1) in _OSES and not platform:
            platform = target_platform(token)
        elif token in ("internal", "auth"):
            special = token
        else:
            rest.append(token)
    text = m.group(2)
    if index:
        kind = Kind.BASE_IMAGE if text[:5].upper() == "FROM " else Kind.STEP
        stage = rest.pop() if rest else ""
        return ParsedName(kind, platform, " ".join(rest), stage, index, total, text)
    kind = _kind_of(text)
    if special and kind is Kind.OTHER:
        kind = Kind.INTERNAL
    return ParsedName(kind, platform, " ".join(rest), "", 0, 0, text)
