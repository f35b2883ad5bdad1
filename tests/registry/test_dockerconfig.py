"""mab.registry.dockerconfig: credentials from a Docker config file and from credential helpers.

The helpers are real programs run through the real protocol: small shell scripts named
`docker-credential-<name>` put first on PATH (no keychain or `pass` store exists here).
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from mab.errors import RegistryError, UserError
from mab.registry.dockerconfig import Credentials, credentials_for, normalize_host

SECRET = "hunter2-Secret"


def write_config(tmp_path: Path, data: object) -> Path:
    directory = tmp_path / "docker"
    directory.mkdir(exist_ok=True)
    path = directory / "config.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def install_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> Path:
    """A `docker-credential-<name>` on PATH; it logs the server it was asked about."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    program = bin_dir / f"docker-credential-{name}"
    log = tmp_path / f"{name}.log"
    program.write_text(f'#!/bin/sh\nread server\necho "$1 $server" >> {log}\n{body}\n')
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("key", "host"),
    [
        ("https://index.docker.io/v1/", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("http://localhost:5001/", "localhost:5001"),
        ("GHCR.io", "ghcr.io"),
        ("127.0.0.1:5001", "127.0.0.1:5001"),
    ],
)
def test_normalize_host(key: str, host: str) -> None:
    assert normalize_host(key) == host


def test_auths_entry_with_base64_auth(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"auths": {"localhost:5001": {"auth": b64(f"mab:{SECRET}")}}})
    creds = credentials_for("localhost:5001", path)
    assert creds is not None
    assert (creds.username, creds.secret, creds.identity_token) == ("mab", SECRET, False)
    assert SECRET not in repr(creds)
    assert creds.describe() == f"user 'mab' from {path} (auths)"


def test_auths_entry_with_url_key_username_password_and_identity_token(tmp_path: Path) -> None:
    data = {
        "auths": {
            "https://reg.example/v1/": {"username": "u", "password": SECRET},
            "https://index.docker.io/v1/": {"identitytoken": SECRET},
        }
    }
    path = write_config(tmp_path, data)
    creds = credentials_for("reg.example", path)
    assert creds is not None and (creds.username, creds.secret) == ("u", SECRET)
    hub = credentials_for("docker.io", path)
    assert hub is not None and hub.identity_token and hub.describe().startswith("an identity token")


def test_no_entry_no_file_is_anonymous(tmp_path: Path) -> None:
    assert credentials_for("reg.example", tmp_path / "missing.json") is None
    path = write_config(tmp_path, {"auths": {"other.example": {"auth": b64("a:b")}}})
    assert credentials_for("reg.example", path) is None


def test_docker_config_env_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path, {"auths": {"reg.example": {"auth": b64(f"env:{SECRET}")}}})
    monkeypatch.setenv("DOCKER_CONFIG", str(path.parent))
    creds = credentials_for("reg.example")
    assert creds is not None and creds.username == "env"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"auths": ', r"config.json:1: the Docker config is not valid JSON"),
        ("[]", "is not a JSON object"),
        (json.dumps({"auths": {"reg.example": {"auth": b64("no-colon")}}}), "not base64 of"),
    ],
)
def test_broken_config_is_a_user_error_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(UserError, match=message) as info:
        credentials_for("reg.example", path)
    assert str(path) in info.value.message


def test_cred_helper_for_one_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = install_helper(
        tmp_path,
        monkeypatch,
        "mabtest",
        f'echo \'{{"ServerURL":"reg.example","Username":"helper-user","Secret":"{SECRET}"}}\'',
    )
    path = write_config(
        tmp_path,
        {
            "credHelpers": {"reg.example": "mabtest"},
            "auths": {"reg.example": {"auth": b64("file:not-used")}},
        },
    )
    creds = credentials_for("reg.example", path)
    assert creds == Credentials(
        "helper-user", SECRET, "credential helper 'docker-credential-mabtest'"
    )
    assert log.read_text().split() == ["get", "reg.example"]


def test_creds_store_with_identity_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = install_helper(
        tmp_path,
        monkeypatch,
        "store",
        f'echo \'{{"ServerURL":"x","Username":"<token>","Secret":"{SECRET}"}}\'',
    )
    path = write_config(tmp_path, {"credsStore": "store"})
    creds = credentials_for("docker.io", path)
    assert creds is not None and creds.identity_token and creds.secret == SECRET
    assert log.read_text().split() == ["get", "https://index.docker.io/v1/"]


def test_creds_store_without_an_entry_falls_back_to_auths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_helper(
        tmp_path, monkeypatch, "store", "echo 'credentials not found in native keychain'; exit 1"
    )
    path = write_config(
        tmp_path, {"credsStore": "store", "auths": {"reg.example": {"auth": b64("f:p")}}}
    )
    creds = credentials_for("reg.example", path)
    assert creds is not None and creds.username == "f"
    assert credentials_for("other.example", path) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("echo 'the keychain is locked' >&2; exit 3", r"failed for reg.example \(exit 3\)"),
        ("echo 'not json'", "unreadable answer"),
        ('echo \'{"Username": "u"}\'', "unreadable answer"),
    ],
)
def test_failing_helpers_are_registry_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, message: str
) -> None:
    install_helper(tmp_path, monkeypatch, "broken", body)
    path = write_config(tmp_path, {"credHelpers": {"reg.example": "broken"}})
    with pytest.raises(RegistryError, match=message) as info:
        credentials_for("reg.example", path)
    assert info.value.hint is not None and "docker-credential-broken" in info.value.hint


def test_missing_helper_names_the_program(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"credHelpers": {"reg.example": "nosuchhelper-xyz"}})
    with pytest.raises(RegistryError, match="'docker-credential-nosuchhelper-xyz' is not on PATH"):
        credentials_for("reg.example", path)
