"""What the registry answered, and the messages mab gives for it: pure, so every error a user
can meet is written in one place. `mab.registry.client` does the talking."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mab.errors import RegistryAuthError, RegistryError, RegistryNotFound
from mab.registry.dockerconfig import Credentials
from mab.registry.manifest import MalformedReply, Manifest, parse_manifest
from mab.registry.reference import Reference

REJECTIONS = frozenset({"MANIFEST_INVALID", "UNSUPPORTED", "MANIFEST_BLOB_UNKNOWN"})
_LINK_RE = re.compile(r"<([^>]+)>")


@dataclass(frozen=True)
class Ping:
    """What `GET /v2/` said: reachable at all, and which auth scheme it asks for."""

    status: int
    auth_scheme: str | None  # None when anonymous access is fine


@dataclass(frozen=True)
class Reply:
    """A finished, size-capped HTTP exchange (`headers` look up names case-insensitively)."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    def json_error(self) -> dict[str, Any]:
        """The first entry of the distribution spec's `{"errors": [...]}` body, if any."""
        try:
            data = json.loads(self.body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {}
        errors = data.get("errors") if isinstance(data, dict) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return errors[0]
        return {}


def strip_query(url: str) -> str:
    return url.split("?", 1)[0]


def reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def next_page(link: str | None) -> str | None:
    if not link or 'rel="next"' not in link:
        return None
    m = _LINK_RE.search(link)
    return m.group(1) if m else None


def login_needed(registry: str, url: str) -> RegistryError:
    return RegistryAuthError(
        f"{registry} needs a login for {strip_query(url)}, and no credentials were found",
        hint=f"run `docker login {registry}` (mab reads the Docker config's logins "
        "and credential helpers)",
    )


def rejected(registry: str, creds: Credentials | None, url: str) -> RegistryError:
    who = creds.describe() if creds else "anonymous access"
    return RegistryAuthError(
        f"{registry} rejected the credentials ({who}) for {strip_query(url)}",
        hint=f"log in again with `docker login {registry}`, "
        "and check the account may read (and push to) this repository",
    )


def status_error(registry: str, reply: Reply, what: str) -> RegistryError:
    error = reply.json_error()
    code = str(error.get("code") or "")
    detail = f" ({code}: {str(error.get('message') or '')[:200]})" if code else ""
    status = reply.status_code
    if status == 403:
        hint = "the account is logged in but lacks permission: check its access rights"
    elif status >= 500:
        hint = "the registry is failing; retry later"
    else:
        hint = "check the reference and the registry address"
    kind = RegistryAuthError if status in (401, 403) else RegistryError
    return kind(f"{registry} answered {status} for {what}{detail}", hint=hint)


def malformed(registry: str, reply: Reply, problem: str) -> RegistryError:
    return RegistryError(
        f"{registry} sent a malformed reply for {strip_query(reply.url)}: {problem}",
        hint="the registry (or a proxy in front of it) is not speaking the registry API v2; "
        "check the address",
    )


def too_big(registry: str, url: str, limit: int) -> RegistryError:
    return RegistryError(
        f"{registry} sent more than {limit // 1024} KiB for {strip_query(url)}",
        hint="that is far larger than a manifest should be; check the reference and the "
        "registry address",
    )


def json_of(registry: str, reply: Reply, what: str) -> Any:
    try:
        return json.loads(reply.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise malformed(registry, reply, f"{what} is not valid JSON") from None


_TRANSPORT = {
    "redirects": ("too many redirects", "check the registry address and any proxy"),
    "connect": (
        "cannot connect",
        "check the address, that the registry is running, and your network or proxy",
    ),
    "timeout": ("timed out", "the registry is slow or unreachable; retry later"),
    "protocol": ("redirected to an unsupported URL", "check the registry address"),
}


def transport_error(registry: str, url: str, kind: str, detail: str) -> RegistryError:
    """The request never got an answer: `kind` is one of `_TRANSPORT`'s, or an error's name."""
    problem, hint = _TRANSPORT.get(kind, (kind, "check the registry address and your network"))
    if kind not in ("redirects", "timeout", "protocol"):
        problem = f"{problem} ({detail})" if kind == "connect" else f"{kind}: {detail}"
    return RegistryError(f"{registry}: {problem} ({strip_query(url)})", hint=hint)


class DigestCheck:
    """The sha256 of a blob as it streams, compared with its digest at the end."""

    def __init__(self, registry: str, where: str, digest: str) -> None:
        self.registry, self.where, self.digest = registry, where, digest
        self._hasher = hashlib.sha256()

    def update(self, chunk: bytes) -> None:
        self._hasher.update(chunk)

    def finish(self) -> None:
        if (
            self.digest.startswith("sha256:")
            and self.digest != "sha256:" + self._hasher.hexdigest()
        ):
            raise RegistryError(
                f"{self.registry}: {self.where}: its bytes do not match its digest",
                hint="the registry's storage or a proxy altered the blob; do not trust it",
            )


def not_found(registry: str, ref: Reference) -> RegistryNotFound:
    return RegistryNotFound(
        f"{ref} not found on {registry}",
        hint="check the name and tag (`mab cache ls` lists the cache refs)",
    )


def manifest_of(
    registry: str, reply: Reply, where: str, content_type: str | None = None
) -> Manifest:
    """The manifest in a 200 reply, its bytes checked against `Docker-Content-Digest`."""
    computed = "sha256:" + hashlib.sha256(reply.body).hexdigest()
    header = reply.headers.get("Docker-Content-Digest")
    if header and header.startswith("sha256:") and header != computed:
        raise malformed(registry, reply, f"{where}: its bytes do not match Docker-Content-Digest")
    try:
        kind = content_type or reply.headers.get("Content-Type")
        return parse_manifest(reply.body, kind, header or computed)
    except MalformedReply as exc:
        raise malformed(registry, reply, f"{where}: {exc}") from None


def tag_page(registry: str, reply: Reply, repository: str) -> list[str]:
    data = json_of(registry, reply, f"the tag list of {repository}")
    page = data.get("tags") if isinstance(data, dict) else None
    if page is not None and (
        not isinstance(page, list) or not all(isinstance(t, str) for t in page)
    ):
        raise malformed(registry, reply, f"the tag list of {repository} is not a list of strings")
    return list(page or [])


def too_many_pages(registry: str, repository: str, pages: int) -> RegistryError:
    return RegistryError(
        f"{registry}: the tag list of {repository} has over {pages} pages; mab stopped there",
        hint="remove old tags, or check that the registry's Link header advances",
    )


def too_slow(registry: str, url: str, seconds: float) -> RegistryError:
    return RegistryError(
        f"{registry}: no whole answer within {seconds:.0f}s ({strip_query(url)})",
        hint="the registry is too slow or stalls; retry later",
    )


def retry_delay(reply: Reply, attempt: int, backoff: float, longest: float) -> float:
    """How long to wait before retrying: the reply's `Retry-After` (at most `longest`), else
    an exponential backoff."""
    retry_after = reply.headers.get("Retry-After", "").strip()
    if retry_after.isdigit():
        return min(float(retry_after), longest)
    return float(backoff * 2 ** (attempt - 1))


def next_tags_page(
    registry: str, reply: Reply, repository: str, asked: set[str], pages: int
) -> str | None:
    """The next page of a tag list (its `Link` header); a page asked before (a registry going
    round in circles) or one past `pages` is an error."""
    path = next_page(reply.headers.get("Link"))
    if path is not None and path in asked:
        raise malformed(registry, reply, "its Link header names a page again")
    if path is not None and len(asked) >= pages:
        raise too_many_pages(registry, repository, pages)
    return path


def read_capped(
    registry: str,
    url: str,
    chunks: Iterable[bytes],
    cap: int,
    ok: bool,
    late: tuple[float, float],
) -> bytes:
    """A reply's body, at most `cap` bytes (past it: an error for a success, the start of an
    error page otherwise), read by the deadline `late` = (monotonic time, seconds given)."""
    body: list[bytes] = []
    total = 0
    for chunk in chunks:
        if time.monotonic() > late[0]:
            raise too_slow(registry, url, late[1])
        total += len(chunk)
        if total > cap:
            if ok:
                raise too_big(registry, url, cap)
            break
        body.append(chunk)
    return b"".join(body)
