"""The one module of mab that speaks HTTP: a small client for the registry API v2 (the OCI
distribution spec), enough for mab's cache refs, `mab doctor` and `mab verify`.

- Auth: anonymous first; on a 401 it follows the `WWW-Authenticate` challenge, `Basic` (the
  Docker config's credentials) or `Bearer` (a token from the realm for the scope asked for).
- Retries with backoff on 429 and 5xx (honouring `Retry-After`) and on timeouts; a refused
  connection fails at once. Redirects are followed (blob storage) up to a small limit.
- Every operation has a deadline (`deadline`, retries, a body trickled byte by byte and every
  page of a tag list included), and a tag list at most `MAX_PAGES` pages, none asked twice.
- Replies are size-capped (or streamed) and validated; anything malformed becomes a
  `RegistryError` naming the registry, the URL and what to do; never a secret in a message.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from mab.errors import RegistryError
from mab.registry.auth import (
    Action,
    Challenge,
    basic_header,
    parse_challenge,
    scope_text,
    token_of,
    token_realm,
    token_request,
    unsupported_scheme,
)
from mab.registry.dockerconfig import Credentials, credentials_for
from mab.registry.manifest import (
    ACCEPT_MANIFESTS,
    EMPTY_JSON,
    EMPTY_JSON_DIGEST,
    MAX_MANIFEST_BYTES,
    OCI_INDEX,
    Manifest,
)
from mab.registry.reference import DIGEST_RE, Reference, base_url
from mab.registry.replies import (
    REJECTIONS,
    DigestCheck,
    Ping,
    Reply,
    json_of,
    login_needed,
    malformed,
    manifest_of,
    next_tags_page,
    not_found,
    read_capped,
    reason,
    rejected,
    retry_delay,
    status_error,
    tag_page,
    too_big,
    transport_error,
)

MAX_BLOB_JSON_BYTES = 64 * 1024 * 1024
MAX_SMALL_BYTES = 1024 * 1024  # tag lists, tokens, error bodies
STREAM_CHUNK = 256 * 1024
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 30.0
DEADLINE_S = 120.0  # one operation: its retries, its whole body, every page of a list
MAX_PAGES = 100


@dataclass
class _AuthState:
    basic: bool = False  # the registry wants Basic: send it on every request
    tokens: dict[str, str] = field(default_factory=dict)  # scope -> bearer token


class RegistryClient:
    """One registry. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        registry: str,
        *,
        credentials: Credentials | None = None,
        lookup_credentials: bool = True,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        deadline: float = DEADLINE_S,
    ) -> None:
        self.registry = registry
        self.base = base_url(registry)
        self._credentials = credentials
        self._lookup = lookup_credentials and credentials is None
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        self._deadline = deadline
        self._until: float | None = None  # the deadline of the operation under way
        self._auth = _AuthState()
        self._http = httpx.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": "mab"},
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def credentials(self) -> Credentials | None:
        if self._lookup:
            self._lookup = False
            self._credentials = credentials_for(self.registry)
        return self._credentials

    # -- public API

    def ping(self) -> Ping:
        """`GET /v2/` without credentials: is there a registry, and does it want auth?"""
        r = self._send("GET", "/v2/", None, MAX_SMALL_BYTES, auth=False)
        if r.status_code == 401:
            challenge = parse_challenge(r.headers.get("WWW-Authenticate"))
            return Ping(401, challenge.scheme if challenge else "unknown")
        if r.status_code != 200:
            raise status_error(self.registry, r, "GET /v2/")
        return Ping(200, None)

    def list_tags(self, repository: str) -> list[str]:
        """Every tag of a repository (following `Link` pagination); [] when it has none."""
        tags: list[str] = []
        path: str | None = f"/v2/{repository}/tags/list?n=1000"
        asked: set[str] = set()
        self._until = time.monotonic() + self._deadline
        try:
            while path is not None:
                asked.add(path)
                r = self._send("GET", path, (repository, "pull"), MAX_SMALL_BYTES)
                if r.status_code == 404:
                    return tags
                if r.status_code != 200:
                    raise status_error(self.registry, r, f"listing the tags of {repository}")
                tags += tag_page(self.registry, r, repository)
                path = next_tags_page(self.registry, r, repository, asked, MAX_PAGES)
        finally:
            self._until = None
        return tags

    def get_manifest(self, ref: Reference) -> Manifest:
        where = f"the manifest of {ref}"
        path = f"/v2/{ref.repository}/manifests/{ref.reference}"
        headers = {"Accept": ACCEPT_MANIFESTS}
        r = self._send("GET", path, (ref.repository, "pull"), MAX_MANIFEST_BYTES, headers=headers)
        if r.status_code == 404:
            raise not_found(self.registry, ref)
        if r.status_code != 200:
            raise status_error(self.registry, r, where)
        return manifest_of(self.registry, r, where)

    def manifest_digest(self, ref: Reference) -> str | None:
        """`HEAD` a manifest: its digest, or None when there is no such tag."""
        path = f"/v2/{ref.repository}/manifests/{ref.reference}"
        headers = {"Accept": ACCEPT_MANIFESTS}
        r = self._send("HEAD", path, (ref.repository, "pull"), 0, headers=headers)
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise status_error(self.registry, r, f"the manifest of {ref}")
        digest = str(r.headers.get("Docker-Content-Digest") or "")
        if DIGEST_RE.match(digest):
            return digest
        return self.get_manifest(ref).digest  # some registries only send it on GET

    def get_json_blob(self, repository: str, digest: str, limit: int = MAX_BLOB_JSON_BYTES) -> Any:
        reply = self._blob(repository, digest, limit)
        return json_of(self.registry, reply, f"blob {digest} of {self.registry}/{repository}")

    def delete_manifest(self, repository: str, digest: str) -> None:
        where = f"deleting {self.registry}/{repository}@{digest}"
        path = f"/v2/{repository}/manifests/{digest}"
        r = self._send("DELETE", path, (repository, "delete"), MAX_SMALL_BYTES)
        if r.status_code in (200, 202):
            return
        if r.status_code == 405 or r.json_error().get("code") == "UNSUPPORTED":
            raise RegistryError(
                f"{self.registry} does not allow deleting manifests ({where})",
                hint="enable deletes on the registry (distribution: storage.delete.enabled), "
                "or delete the tag in the registry's own UI",
            )
        if r.status_code == 404:
            raise RegistryError(f"{where}: not found (already deleted?)")
        raise status_error(self.registry, r, where)

    def can_push(self, repository: str) -> bool:
        """Start a blob upload and cancel it at once: proves push access without writing."""
        path = f"/v2/{repository}/blobs/uploads/"
        r = self._send("POST", path, (repository, "push"), MAX_SMALL_BYTES)
        if r.status_code in (401, 403):
            return False
        if r.status_code != 202:
            raise status_error(self.registry, r, f"starting an upload to {repository}")
        location = r.headers.get("Location")
        if location:  # a registry that cannot cancel just lets the upload expire
            url = location if "://" in location else self.base + location
            with contextlib.suppress(RegistryError):
                self._send("DELETE", url, (repository, "push"), MAX_SMALL_BYTES)
        return True

    def probe_manifest(self, repository: str, media_type: str, manifest: bytes) -> bool:
        """Push an untagged test manifest (by digest) and delete it again: True when the
        registry accepts that kind of manifest, False when it rejects it as invalid.

        Its only blob is the 2-byte `{}` (the OCI empty descriptor), uploaded when missing."""
        self._ensure_blob(repository, EMPTY_JSON, EMPTY_JSON_DIGEST)
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        if self.put_manifest(repository, digest, media_type, manifest) is None:
            return False
        with contextlib.suppress(RegistryError):  # best effort: it is untagged anyway
            path = f"/v2/{repository}/manifests/{digest}"
            self._send("DELETE", path, (repository, "delete"), MAX_SMALL_BYTES)
        return True

    def push_blob(self, repository: str, data: bytes) -> str:
        """Upload a blob (skipped when the registry has it); returns its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self._ensure_blob(repository, data, digest)
        return digest

    def get_blob(self, repository: str, digest: str, limit: int = MAX_SMALL_BYTES) -> bytes:
        """A blob's bytes, checked against its digest."""
        return self._blob(repository, digest, limit).body

    @contextlib.contextmanager
    def stream_blob(self, repository: str, digest: str) -> Iterator[Iterator[bytes]]:
        """A blob as an iterator of chunks, never held whole; the digest of what streamed is
        checked at its end (a mismatch raises `RegistryError`)."""
        where, path = f"blob {digest} of {self.registry}", f"/v2/{repository}/blobs/{digest}"
        head = self._send("HEAD", path, (repository, "pull"), 0)  # settles auth, no body
        if head.status_code != 200:
            raise status_error(self.registry, head, where)
        url, headers = self.base + path, self._auth_header((repository, "pull"))
        with self._http.stream("GET", url, headers=headers) as response:
            if response.status_code != 200:
                raise status_error(self.registry, Reply(response.status_code, {}, b"", url), where)
            yield self._chunks(response, url, DigestCheck(self.registry, where, digest))

    def _chunks(self, response: httpx.Response, url: str, check: DigestCheck) -> Iterator[bytes]:
        try:
            for chunk in response.iter_bytes(STREAM_CHUNK):
                check.update(chunk)
                yield chunk
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._transport_error(url, exc) from None
        check.finish()

    def referrers(self, repository: str, digest: str) -> Manifest | None:
        """The OCI referrers index of a manifest; None when the registry has no referrers API."""
        path, accept = f"/v2/{repository}/referrers/{digest}", {"Accept": OCI_INDEX}
        r = self._send("GET", path, (repository, "pull"), MAX_MANIFEST_BYTES, headers=accept)
        if r.status_code != 200 or "json" not in r.headers.get("Content-Type", ""):
            return None
        return manifest_of(self.registry, r, f"the referrers of {digest}", OCI_INDEX)

    def _blob(self, repository: str, digest: str, limit: int) -> Reply:
        where = f"blob {digest} of {self.registry}/{repository}"
        r = self._send("GET", f"/v2/{repository}/blobs/{digest}", (repository, "pull"), limit)
        if r.status_code != 200:
            raise status_error(self.registry, r, where)
        computed = "sha256:" + hashlib.sha256(r.body).hexdigest()
        if digest.startswith("sha256:") and computed != digest:
            raise malformed(self.registry, r, f"{where}: its bytes do not match its digest")
        return r

    def put_manifest(self, repository: str, tag: str, media_type: str, body: bytes) -> str | None:
        """Push a manifest under a tag (or its digest): its digest, or None when the registry
        rejects that kind of manifest (400/415, MANIFEST_INVALID, UNSUPPORTED) so a caller can
        fall back."""
        path = f"/v2/{repository}/manifests/{tag}"
        headers = {"Content-Type": media_type}
        scope: tuple[str, Action] = (repository, "push")
        r = self._send("PUT", path, scope, MAX_SMALL_BYTES, headers=headers, content=body)
        if r.status_code in (400, 415) or r.json_error().get("code") in REJECTIONS:
            return None
        if r.status_code not in (200, 201):
            raise status_error(self.registry, r, f"pushing {repository}:{tag}")
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def _ensure_blob(self, repository: str, data: bytes, digest: str) -> None:
        scope: tuple[str, Action] = (repository, "push")
        r = self._send("HEAD", f"/v2/{repository}/blobs/{digest}", scope, 0)
        if r.status_code == 200:
            return
        r = self._send("POST", f"/v2/{repository}/blobs/uploads/", scope, MAX_SMALL_BYTES)
        location = r.headers.get("Location")
        if r.status_code != 202 or not location:
            raise status_error(self.registry, r, f"starting an upload to {repository}")
        url = location if "://" in location else self.base + location
        url += ("&" if "?" in url else "?") + f"digest={digest}"
        headers = {"Content-Type": "application/octet-stream"}
        r = self._send("PUT", url, scope, MAX_SMALL_BYTES, headers=headers, content=data)
        if r.status_code not in (201, 204):
            raise status_error(self.registry, r, f"uploading a blob to {repository}")

    # -- HTTP with auth, retries and limits

    def _send(
        self,
        method: str,
        path: str,
        scope: tuple[str, Action] | None,
        limit: int,
        *,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        content: bytes | None = None,
    ) -> Reply:
        url = path if path.startswith(("http://", "https://")) else self.base + path
        sent_credentials = False
        for _ in range(3):  # anonymous or cached auth, then once after each challenge
            reply = self._with_retries(method, url, scope, limit, headers, auth, content)
            if reply.status_code != 401 or not auth:
                return reply
            if sent_credentials:
                raise rejected(self.registry, self.credentials, url)
            sent_credentials = self._answer_challenge(reply, scope, url)
        raise (
            rejected(self.registry, self.credentials, url)
            if self.credentials
            else login_needed(self.registry, url)
        )

    def _with_retries(
        self,
        method: str,
        url: str,
        scope: tuple[str, Action] | None,
        limit: int,
        headers: Mapping[str, str] | None,
        auth: bool,
        content: bytes | None,
    ) -> Reply:
        attempt = 0
        until = self._until or time.monotonic() + self._deadline
        while True:
            attempt += 1
            merged = dict(headers or {})
            if auth:
                merged.update(self._auth_header(scope))
            try:
                reply = self._once(method, url, merged, limit, content, until)
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                pause = self._backoff * 2 ** (attempt - 1)
                if attempt > self._retries or time.monotonic() + pause >= until:
                    raise self._transport_error(url, exc) from None
                self._sleep(pause)
                continue
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise self._transport_error(url, exc) from None
            pause = retry_delay(reply, attempt, self._backoff, MAX_RETRY_AFTER)
            retry = reply.status_code in RETRY_STATUSES and attempt <= self._retries
            if retry and time.monotonic() + pause < until:
                self._sleep(pause)
                continue
            return reply

    def _once(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        limit: int,
        content: bytes | None,
        until: float,
    ) -> Reply:
        with self._http.stream(method, url, headers=headers, content=content) as response:
            ok = response.status_code < 300
            cap = limit if ok else MAX_SMALL_BYTES  # an error page: its start is enough
            declared = response.headers.get("Content-Length", "")
            if ok and method != "HEAD" and declared.isdigit() and int(declared) > cap:
                raise too_big(self.registry, url, cap)
            body = b""
            if method != "HEAD":
                late = (until, self._deadline)  # a body trickled byte by byte ends there
                body = read_capped(self.registry, url, response.iter_bytes(), cap, ok, late)
            return Reply(response.status_code, response.headers, body, str(response.url))

    def _auth_header(self, scope: tuple[str, Action] | None) -> dict[str, str]:
        if scope is not None:
            token = self._auth.tokens.get(scope_text(*scope))
            if token:
                return {"Authorization": f"Bearer {token}"}
        creds = self.credentials if self._auth.basic else None
        if creds is not None and not creds.identity_token:
            return basic_header(creds)
        return {}

    def _answer_challenge(self, reply: Reply, scope: tuple[str, Action] | None, url: str) -> bool:
        """Prepare auth for the retry; True when credentials (not just a token) were used."""
        challenge = parse_challenge(reply.headers.get("WWW-Authenticate"))
        creds = self.credentials
        if challenge is None or challenge.scheme not in ("basic", "bearer"):
            raise unsupported_scheme(self.registry, url, challenge.scheme if challenge else None)
        if challenge.scheme == "basic":
            if creds is None or creds.identity_token:
                raise login_needed(self.registry, url)
            self._auth.basic = True
            return True
        key = scope_text(*scope) if scope else (challenge.get("scope") or "")
        self._auth.tokens[key] = self._fetch_token(challenge, scope, creds)
        return creds is not None

    def _fetch_token(
        self, challenge: Challenge, scope: tuple[str, Action] | None, creds: Credentials | None
    ) -> str:
        realm = token_realm(self.registry, challenge, creds)
        wanted = scope_text(*scope) if scope else None
        method, url, headers, body = token_request(realm, challenge, wanted, creds)
        response = self._with_retries(method, url, None, MAX_SMALL_BYTES, headers, False, body)
        return token_of(self.registry, realm, response, creds)

    def _transport_error(self, url: str, exc: httpx.HTTPError | httpx.InvalidURL) -> RegistryError:
        kinds = {
            httpx.TooManyRedirects: "redirects",
            httpx.ConnectError: "connect",
            httpx.TimeoutException: "timeout",
            httpx.UnsupportedProtocol: "protocol",
        }
        kind = next((k for t, k in kinds.items() if isinstance(exc, t)), type(exc).__name__)
        return transport_error(self.registry, url, kind, reason(exc))
