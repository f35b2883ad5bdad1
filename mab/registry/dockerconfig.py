"""Registry credentials the way the Docker CLI finds them: `$DOCKER_CONFIG/config.json`
(default `~/.docker/config.json`), its `credHelpers` (per registry), `auths` entries and
`credsStore` (the default helper), in the order the Docker CLI uses them.

A credential helper is a separate program, `docker-credential-<name>`, speaking a tiny protocol
(the server address on stdin of `get`, a JSON object on stdout). It is not docker itself, so it
runs here rather than in `mab.engine.docker`. Secrets never appear in a repr, a message or a log.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mab.errors import RegistryError, UserError

HELPER_TIMEOUT = 20.0
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")
_TOKEN_USER = "<token>"  # a helper returning this username hands out an identity token


@dataclass(frozen=True)
class Credentials:
    """How to log in to one registry. `secret` is a password or an identity (refresh) token."""

    username: str
    secret: str = field(repr=False)
    source: str  # "config.json auths", "credential helper 'pass'": named in messages
    identity_token: bool = False

    def describe(self) -> str:
        who = "an identity token" if self.identity_token else f"user {self.username!r}"
        return f"{who} from {self.source}"


def config_dir() -> Path:
    env = os.environ.get("DOCKER_CONFIG")
    return Path(env) if env else Path.home() / ".docker"


def config_path() -> Path:
    return config_dir() / "config.json"


def normalize_host(key: str) -> str:
    """`https://index.docker.io/v1/`, `http://host:5000/`, `host:5000` -> the bare host[:port]."""
    text = key.strip()
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    text = text.split("/", 1)[0].lower()
    return "docker.io" if text in _HUB_HOSTS else text


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The parsed config file; {} when there is none. A broken one is the user's to fix."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UserError(
            f"{path}: cannot read the Docker config: {exc.strerror}",
            hint="fix its permissions, or point DOCKER_CONFIG at another directory",
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{path}:{exc.lineno}: the Docker config is not valid JSON ({exc.msg})",
            hint="fix the file, or log in again with `docker login <registry>`",
        ) from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: the Docker config is not a JSON object", hint="fix the file")
    return data


def _decode_auth(value: str, where: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    user, sep, password = decoded.partition(":")
    if not sep:
        raise UserError(
            f"{where}: the `auth` value is not base64 of `user:password`",
            hint="log in again with `docker login`, which rewrites it",
        )
    return user, password


def _from_auths(data: dict[str, Any], host: str, path: Path) -> Credentials | None:
    auths = data.get("auths")
    if not isinstance(auths, dict):
        return None
    for key, entry in auths.items():
        if normalize_host(str(key)) != host or not isinstance(entry, dict):
            continue
        source = f"{path} (auths)"
        token = entry.get("identitytoken")
        if isinstance(token, str) and token:
            return Credentials(str(entry.get("username") or ""), token, source, True)
        if isinstance(entry.get("auth"), str) and entry["auth"]:
            user, password = _decode_auth(entry["auth"], f"{path}: auths.{key}")
            return Credentials(user, password, source)
        name, secret = entry.get("username"), entry.get("password")
        if isinstance(name, str) and isinstance(secret, str) and name:
            return Credentials(name, secret, source)
    return None


def _helper_server(host: str) -> str:
    return DOCKER_HUB_KEY if host == "docker.io" else host


def run_helper(helper: str, host: str) -> Credentials | None:
    """`docker-credential-<helper> get` for a registry; None when it has nothing for it."""
    program = f"docker-credential-{helper}"
    source = f"credential helper {program!r}"
    try:
        done = subprocess.run(
            [program, "get"],
            input=_helper_server(host),
            capture_output=True,
            text=True,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise RegistryError(
            f"the Docker config names the credential helper {helper!r}, "
            f"but {program!r} is not on PATH",
            hint=f"install {program}, or remove it from {config_path()}",
        ) from None
    except subprocess.TimeoutExpired:
        raise RegistryError(
            f"{source} did not answer for {host} within {HELPER_TIMEOUT:.0f}s",
            hint="unlock its keychain/store, or run `docker login` again",
        ) from None
    if done.returncode != 0:
        said = (done.stdout + done.stderr).strip().splitlines()
        if any("credentials not found" in line.lower() for line in said):
            return None
        raise RegistryError(
            f"{source} failed for {host} (exit {done.returncode})",
            hint=f"try `{program} list`, or log in again with `docker login {host}`",
        )
    try:
        reply = json.loads(done.stdout)
    except json.JSONDecodeError:
        reply = None
    if not isinstance(reply, dict) or not isinstance(reply.get("Secret"), str):
        raise RegistryError(
            f"{source} gave an unreadable answer for {host}",
            hint=f"check `{program}` works, or log in again with `docker login {host}`",
        )
    user = str(reply.get("Username") or "")
    if user == _TOKEN_USER:
        return Credentials("", reply["Secret"], source, identity_token=True)
    return Credentials(user, reply["Secret"], source)


def credentials_for(host: str, path: Path | None = None) -> Credentials | None:
    """The credentials Docker would use for `host` (host[:port]), or None for anonymous."""
    path = path or config_path()
    data = load_config(path)
    host = normalize_host(host)
    helpers = data.get("credHelpers")
    if isinstance(helpers, dict):
        for key, helper in helpers.items():
            if normalize_host(str(key)) == host and isinstance(helper, str) and helper:
                return run_helper(helper, host)
    store = data.get("credsStore")
    if isinstance(store, str) and store:  # like docker: the store replaces the file's auths
        found = run_helper(store, host)
        if found is not None:
            return found
    return _from_auths(data, host, path)
