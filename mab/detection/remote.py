"""Git remotes: a remote URL into a `Remote`, and the remote URL out of `.git/config` text. Pure."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from mab.detection.project import Remote

# scp-like syntax: [user@]host:path (no scheme, and the part before ':' has no '/').
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?([^:/]{2,}):(?!//)(.+)$")
_SECTION = re.compile(r'^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]')
_INLINE_COMMENT = re.compile(r"\s+[#;].*$")
_KEY_VALUE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*)\s*=\s*(.*?)\s*$")


def parse_remote_url(url: str) -> Remote | None:
    """`https://github.com/o/r.git`, `git@github.com:o/r.git`, `ssh://git@host:22/g/s/p.git`
    and the like into a `Remote`; None when it names no host and path (a local path)."""
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path
        if parts.scheme == "file":
            return None
    else:
        match = _SCP_LIKE.match(url)
        if match is None:
            return None
        host, path = match.group(1), match.group(2)
    path = path.strip("/").removesuffix(".git").strip("/")
    host = host.lower()
    if not host or not path:
        return None
    return Remote(host=host, path=path, provider=_provider(host))


def _provider(host: str) -> str:
    if host in ("github.com", "www.github.com"):
        return "github"
    if "gitlab" in host:
        return "gitlab"
    return "other"


def remote_urls(config_text: str) -> dict[str, str]:
    """The `url` of each `[remote "name"]` section of a git config, in file order."""
    urls: dict[str, str] = {}
    remote: str | None = None
    for line in config_text.splitlines():
        if line.lstrip().startswith(("#", ";")):
            continue
        section = _SECTION.match(line)
        if section:
            is_remote = section.group(1).lower() == "remote" and section.group(2) is not None
            remote = section.group(2) if is_remote else None
            continue
        entry = _KEY_VALUE.match(line)
        if remote is not None and entry and entry.group(1).lower() == "url":
            urls.setdefault(remote, _unquote(entry.group(2)))
    return urls


def _unquote(value: str) -> str:
    value = _INLINE_COMMENT.sub("", value)
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def remote_from_config(config_text: str) -> Remote | None:
    """The `origin` remote of a git config, else its first remote that parses, else None."""
    urls = remote_urls(config_text)
    ordered = ([urls["origin"]] if "origin" in urls else []) + list(urls.values())
    for url in ordered:
        remote = parse_remote_url(url)
        if remote is not None:
            return remote
    return None
