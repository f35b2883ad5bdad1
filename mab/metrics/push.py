"""`mab build --pushgateway URL`: the one module that talks to a Prometheus Pushgateway.

Grouping: `job="mab"`, the image, and the platforms this build made (`linux-amd64+linux-arm64`):
per-platform CI jobs of one image each keep their own group instead of replacing each other's,
and the number of groups stays the number of images times platform sets. Credentials may sit
in the URL (`https://user:secret@push.example`); they are sent as Basic auth and never printed.

A push that fails is a warning, not a failed build: metrics must not break a release.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

from prometheus_client import CollectorRegistry, push_to_gateway
from prometheus_client.exposition import basic_auth_handler, default_handler

from mab.errors import UserError

JOB = "mab"
TIMEOUT_S = 10.0


def check_url(url: str) -> str:
    """The URL without credentials, for messages; `UserError` when it is not http(s)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(
            f"--pushgateway {_safe(url)!r} is not an http(s) URL",
            hint="for example --pushgateway http://pushgateway.example:9091",
        )
    return _safe(url)


def _safe(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def grouping_key(image: str | None, platforms: tuple[str, ...]) -> dict[str, str]:
    return {
        "image": image or "unknown",
        "platforms": "+".join(p.replace("/", "-") for p in sorted(platforms)) or "none",
    }


def push(url: str, registry: CollectorRegistry, grouping: dict[str, str]) -> str | None:
    """Replace this group's metrics on the gateway; the reason as text when it failed."""
    parts = urllib.parse.urlsplit(url)
    user = urllib.parse.unquote(parts.username) if parts.username is not None else None
    secret = urllib.parse.unquote(parts.password or "")

    def handler(
        url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
    ) -> Callable[[], None]:
        if user is None:
            return default_handler(url, method, timeout, headers, data)
        return basic_auth_handler(url, method, timeout, headers, data, user, secret)

    try:
        push_to_gateway(
            _safe(url),
            job=JOB,
            registry=registry,
            grouping_key=grouping,
            timeout=TIMEOUT_S,
            handler=handler,
        )
    except Exception as exc:  # urllib raises URLError, HTTPError, OSError, ValueError...
        return _reason(exc)
    return None


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "reason", "") or exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
