"""What the registry answered, and the messages mab gives for it: pure, so every error a user
can meet is written in one place. `mab.registry.client` does the talking."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mab.errors import RegistryError
from mab.registry.dockerconfig import Credentials

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
    return RegistryError(
        f"{registry} needs a login for {strip_query(url)}, and no credentials were found",
        hint=f"run `docker login {registry}` (mab reads the Docker config's logins "
        "and credential helpers)",
    )


def rejected(registry: str, creds: Credentials | None, url: str) -> RegistryError:
    who = creds.describe() if creds else "anonymous access"
    return RegistryError(
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
    return RegistryError(f"{registry} answered {status} for {what}{detail}", hint=hint)


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
