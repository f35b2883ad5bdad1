"""Registry auth challenges (`WWW-Authenticate`), token scopes and the Basic header."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Literal

from mab.registry.dockerconfig import Credentials

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
