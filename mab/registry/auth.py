"""Registry auth challenges (`WWW-Authenticate`), token scopes and the Basic header."""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from dataclasses import dataclass
from typing import Literal

from mab.errors import RegistryError
from mab.registry.dockerconfig import Credentials
from mab.registry.reference import is_loopback
from mab.registry.replies import Reply, login_needed, rejected, strip_query

Action = Literal["pull", "push", "delete"]

_CHALLENGE_RE = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "basic" | "bearer" | anything else the registry sent, lowercased
    params: tuple[tuple[str, str], ...] = ()

    def get(self, key: str) -> str | None:
        return dict(self.params).get(key)


def parse_challenge(header: str | None) -> Challenge | None:
    """`Bearer realm="https://auth/token",service="reg",scope="repository:x:pull"`."""
    if not header or not header.strip():
        return None
    scheme, _, rest = header.strip().partition(" ")
    params = tuple(
        (m.group(1).lower(), m.group(2) if m.group(2) is not None else m.group(3))
        for m in _CHALLENGE_RE.finditer(rest)
    )
    return Challenge(scheme.lower(), params)


def scope_text(repository: str, action: Action) -> str:
    actions = {"pull": "pull", "push": "pull,push", "delete": "delete"}[action]
    return f"repository:{repository}:{actions}"


def basic_header(creds: Credentials) -> dict[str, str]:
    pair = f"{creds.username}:{creds.secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def token_realm(registry: str, challenge: Challenge, creds: Credentials | None) -> str:
    """The token service to ask, refusing one that would get credentials over plain HTTP."""
    realm = challenge.get("realm")
    if not realm or not realm.startswith(("https://", "http://")):
        raise RegistryError(
            f"{registry} asked for a bearer token without a usable realm",
            hint="the registry's token service is misconfigured; ask its operator",
        )
    host = urllib.parse.urlsplit(realm).netloc
    if creds is not None and realm.startswith("http://") and not is_loopback(host):
        raise RegistryError(
            f"{registry} asked for a login over plain HTTP ({strip_query(realm)})",
            hint="mab only sends credentials over HTTPS (or to this machine); "
            "check the registry's token service address",
        )
    return realm


def token_params(
    challenge: Challenge, wanted: str | None
) -> tuple[list[tuple[str, str]], list[str]]:
    """The token request's `service` parameter, and the scopes to ask for (the registry's, ours)."""
    params = [("service", challenge.get("service") or "")] if challenge.get("service") else []
    return params, [s for s in dict.fromkeys([challenge.get("scope"), wanted]) if s]


def token_request(
    realm: str, challenge: Challenge, wanted: str | None, creds: Credentials | None
) -> tuple[str, str, dict[str, str], bytes | None]:
    """(method, URL, headers, body) asking the realm for a token: with an identity token the
    refresh-token grant (a form POST), else a GET with the scopes (Basic when logged in)."""
    params, scopes = token_params(challenge, wanted)
    if creds is not None and creds.identity_token:
        form = [*params, ("grant_type", "refresh_token"), ("client_id", "mab")]
        form += [("refresh_token", creds.secret), ("scope", " ".join(scopes))]
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return "POST", realm, headers, urllib.parse.urlencode(form).encode()
    query = urllib.parse.urlencode([*params, *(("scope", s) for s in scopes)])
    url = f"{realm}{'&' if '?' in realm else '?'}{query}" if query else realm
    return "GET", url, basic_header(creds) if creds is not None else {}, None


def unsupported_scheme(registry: str, url: str, scheme: str | None) -> RegistryError:
    shown = scheme or "no WWW-Authenticate challenge"
    return RegistryError(
        f"{registry} refused {url} with 401 and an unsupported auth scheme ({shown})",
        hint="mab supports anonymous, Basic and Bearer-token registries",
    )


def token_of(registry: str, realm: str, reply: Reply, creds: Credentials | None) -> str:
    """The bearer token in the token service's reply, or the error that says why not."""
    service = strip_query(realm)
    if reply.status_code in (401, 403):
        raise rejected(registry, creds, realm) if creds else login_needed(registry, realm)
    if reply.status_code != 200:
        raise RegistryError(
            f"the token service {service} of {registry} answered {reply.status_code}",
            hint="retry later; if it persists, check the registry's status page",
        )
    try:
        data = json.loads(reply.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    token = (data.get("token") or data.get("access_token")) if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise RegistryError(
            f"the token service {service} of {registry} did not return a token",
            hint="the registry's token service is misconfigured; ask its operator",
        )
    return token
