"""mab.registry.client: references, manifests, auth challenges, retries and malformed replies.

The local registries (tests/commands/test_cache.py) cover anonymous and Basic auth for real.
What they cannot do — a Bearer token service, 429/503 answers, broken JSON, wrong media types,
oversized manifests, redirect loops — is played here by an `httpx.MockTransport`, because no
such misbehaving server runs on this machine. Each handler is a small fake registry.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable

import httpx
import pytest

from mab.errors import EXIT_REGISTRY, RegistryError, UserError
from mab.registry.auth import parse_challenge
from mab.registry.client import RegistryClient
from mab.registry.dockerconfig import Credentials
from mab.registry.manifest import OCI_INDEX, OCI_MANIFEST, MalformedReply, parse_manifest
from mab.registry.reference import Reference, base_url, parse_reference

SECRET = "s3cr3t-Pa55"
CACHE_CONFIG = "application/vnd.buildkit.cacheconfig.v0"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def cache_manifest(layers: int = 2) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": CACHE_CONFIG, "digest": D1, "size": 100},
            "layers": [
                {
                    "mediaType": LAYER,
                    "digest": D2,
                    "size": 1000 + i,
                    "annotations": {"buildkit/createdat": f"2026-11-30T09:0{i}:00Z"},
                }
                for i in range(layers)
            ],
        }
    ).encode()


def digest_of(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


Handler = Callable[[httpx.Request], httpx.Response]


def client(
    handler: Handler, credentials: Credentials | None = None, registry: str = "reg.example"
) -> tuple[RegistryClient, list[float]]:
    sleeps: list[float] = []
    c = RegistryClient(
        registry,
        credentials=credentials,
        lookup_credentials=False,
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
    )
    return c, sleeps


def manifest_response(body: bytes, media_type: str = OCI_MANIFEST) -> httpx.Response:
    return httpx.Response(
        200,
        content=body,
        headers={"Content-Type": media_type, "Docker-Content-Digest": digest_of(body)},
    )


# --------------------------------------------------------------------------- references


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "localhost:5000/app:buildcache-linux-arm64",
            ("localhost:5000", "app", "buildcache-linux-arm64"),
        ),
        ("ghcr.io/Owner/repo", None),
        ("ghcr.io/owner/repo", ("ghcr.io", "owner/repo", None)),
        ("busybox", ("docker.io", "library/busybox", None)),
        ("user/app:1", ("docker.io", "user/app", "1")),
        ("127.0.0.1:5001/a/b/c:t", ("127.0.0.1:5001", "a/b/c", "t")),
        ("localhost/app", ("localhost", "app", None)),
    ],
)
def test_parse_reference(text: str, expected: tuple[str, str, str | None] | None) -> None:
    if expected is None:
        with pytest.raises(UserError, match="not a valid image reference"):
            parse_reference(text)
        return
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag) == expected


def test_parse_reference_with_digest() -> None:
    ref = parse_reference(f"localhost:5000/app@{D1}")
    assert ref.digest == D1
    assert ref.reference == D1
    assert str(ref) == f"localhost:5000/app@{D1}"
    with pytest.raises(UserError, match="bad digest"):
        parse_reference("localhost:5000/app@sha256:")


@pytest.mark.parametrize(
    "text", ["bad host:5000/app", "localhost:99999/app", "localhost:abc/app", ":5000/app"]
)
def test_bad_registry_part(text: str) -> None:
    with pytest.raises(UserError, match=r"not a valid image reference \(bad registry\)"):
        parse_reference(text)


def test_broken_location_header_is_a_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "https://reg.example:abc/x"})

    c, _ = client(handler)
    with pytest.raises(RegistryError, match="Invalid URL in location header"):
        c.list_tags("app")


def test_loopback_registries_use_plain_http() -> None:
    assert base_url("[::1]:5000") == "http://[::1]:5000"
    assert base_url("localhost:5000") == "http://localhost:5000"
    assert base_url("127.0.0.1:5001") == "http://127.0.0.1:5001"
    assert base_url("ghcr.io") == "https://ghcr.io"
    assert base_url("docker.io") == "https://registry-1.docker.io"


# --------------------------------------------------------------------------- manifests


def test_parse_cache_manifest_and_index() -> None:
    body = cache_manifest()
    m = parse_manifest(body, OCI_MANIFEST, "sha256:x")
    assert m.config is not None and m.config.media_type == CACHE_CONFIG
    assert [layer.size for layer in m.layers] == [1000, 1001]
    assert m.layers[0].annotation("buildkit/createdat") == "2026-11-30T09:00:00Z"
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": LAYER, "digest": D2, "size": 5}],
        }
    ).encode()
    assert parse_manifest(index, None, "sha256:y").is_index


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (b"{not json", OCI_MANIFEST, "not valid JSON"),
        (b"[1, 2]", OCI_MANIFEST, "not a JSON object"),
        (b'{"schemaVersion": 1}', OCI_MANIFEST, "schemaVersion"),
        (b'{"schemaVersion": 2}', "text/html", "unexpected media type 'text/html'"),
        (
            b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}',
            OCI_INDEX,
            "disagrees",
        ),
        (
            json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}).encode(),
            OCI_MANIFEST,
            "config is not an object",
        ),
        (
            json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": CACHE_CONFIG, "digest": D1, "size": 1},
                    "layers": [{"mediaType": LAYER, "digest": "nope", "size": 1}],
                }
            ).encode(),
            OCI_MANIFEST,
            r"layers\[0\] has no valid digest",
        ),
        (
            json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": CACHE_CONFIG, "digest": D1, "size": -1},
                    "layers": [],
                }
            ).encode(),
            OCI_MANIFEST,
            "config has no valid size",
        ),
    ],
)
def test_malformed_manifests_say_what_is_wrong(
    body: bytes, content_type: str, problem: str
) -> None:
    with pytest.raises(MalformedReply, match=problem):
        parse_manifest(body, content_type, "sha256:x")


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (httpx.Response(200, content=b"<html>hello</html>", headers={"Content-Type": "text/html"}),
         "malformed reply .* not valid JSON"),
        (httpx.Response(200, content=b'{"schemaVersion": 2, "mediaType": "image/png"}'),
         "unexpected media type 'image/png'"),
        (httpx.Response(200, content=cache_manifest(),
                        headers={"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": D1}),
         "do not match Docker-Content-Digest"),
    ],
)  # fmt: skip
def test_malformed_manifest_replies_are_registry_errors(
    reply: httpx.Response, message: str
) -> None:
    c, _ = client(lambda request: reply)
    with pytest.raises(RegistryError, match=message) as info:
        c.get_manifest(parse_reference("reg.example/app:buildcache-linux-amd64"))
    assert info.value.exit_code == EXIT_REGISTRY
    assert info.value.hint and "registry API v2" in info.value.hint


def test_huge_manifest_is_refused_by_its_content_length() -> None:
    body = b"{" + b" " * (5 * 1024 * 1024) + b"}"
    c, _ = client(lambda request: httpx.Response(200, content=body))
    with pytest.raises(RegistryError, match="more than 4096 KiB"):
        c.get_manifest(parse_reference("reg.example/app:t"))


def test_huge_manifest_without_content_length_is_cut_off() -> None:
    def chunks() -> object:
        for _ in range(100):
            yield b" " * (1024 * 1024)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks())  # type: ignore[arg-type]

    c, _ = client(handler)
    with pytest.raises(RegistryError, match="more than 4096 KiB"):
        c.get_manifest(parse_reference("reg.example/app:t"))


def test_manifest_not_found_names_the_ref() -> None:
    c, _ = client(
        lambda request: httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN"}]})
    )
    with pytest.raises(RegistryError, match=r"reg\.example/app:nope not found on reg\.example"):
        c.get_manifest(parse_reference("reg.example/app:nope"))


def test_redirect_loop_is_a_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(307, headers={"Location": str(request.url)})

    c, _ = client(handler)
    with pytest.raises(RegistryError, match="too many redirects") as info:
        c.get_manifest(parse_reference("reg.example/app:t"))
    assert "Traceback" not in info.value.render()


def test_redirect_to_another_host_is_followed_without_the_credentials() -> None:
    body = json.dumps({"layers": []}).encode()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "reg.example":
            if "Authorization" not in request.headers:
                return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
            return httpx.Response(307, headers={"Location": "https://storage.example/blob?sig=1"})
        return httpx.Response(200, content=body)

    c, _ = client(handler, Credentials("me", SECRET, "test"))
    assert c.get_json_blob("app", digest_of(body)) == {"layers": []}
    assert seen[-1].url.host == "storage.example"
    assert "Authorization" not in seen[-1].headers


def test_redirect_to_a_login_page_is_a_clear_error() -> None:
    """A proxy or SSO portal answering with HTML after a redirect."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "reg.example":
            return httpx.Response(302, headers={"Location": "https://sso.example/login"})
        return httpx.Response(
            200, text="<html>log in</html>", headers={"Content-Type": "text/html"}
        )

    c, _ = client(handler)
    with pytest.raises(RegistryError, match=r"malformed reply for https://sso\.example/login"):
        c.list_tags("app")


def test_blob_digest_is_verified() -> None:
    c, _ = client(lambda request: httpx.Response(200, content=b'{"a": 1}'))
    with pytest.raises(RegistryError, match="do not match its digest"):
        c.get_json_blob("app", D1)


# --------------------------------------------------------------------------- tags


def test_tags_follow_link_pagination() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "last" not in request.url.params:
            return httpx.Response(
                200,
                json={"name": "app", "tags": ["a", "b"]},
                headers={"Link": '</v2/app/tags/list?n=2&last=b>; rel="next"'},
            )
        return httpx.Response(200, json={"name": "app", "tags": ["c"]})

    c, _ = client(handler)
    assert c.list_tags("app") == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (httpx.Response(404, json={"errors": [{"code": "NAME_UNKNOWN"}]}), []),
        (httpx.Response(200, json={"name": "app", "tags": None}), []),
    ],
)
def test_no_tags(reply: httpx.Response, expected: list[str]) -> None:
    c, _ = client(lambda request: reply)
    assert c.list_tags("app") == expected


def test_tag_list_with_wrong_shape() -> None:
    c, _ = client(lambda request: httpx.Response(200, json={"tags": "latest"}))
    with pytest.raises(RegistryError, match="not a list of strings"):
        c.list_tags("app")


# --------------------------------------------------------------------------- auth


def bearer_registry(
    issued: list[httpx.Request], *, expect_user: str | None = None, token_body: object = None
) -> Handler:
    """A registry answering 401 + a Bearer challenge, and its token service."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example":
            issued.append(request)
            auth = request.headers.get("Authorization", "")
            if expect_user is not None:
                want = base64.b64encode(f"{expect_user}:{SECRET}".encode()).decode()
                if auth != f"Basic {want}":
                    return httpx.Response(401, json={"details": "bad creds"})
            if token_body is not None:
                return httpx.Response(200, json=token_body)
            return httpx.Response(200, json={"token": "tok-123", "expires_in": 300})
        if request.headers.get("Authorization") == "Bearer tok-123":
            return httpx.Response(
                200, json={"name": "team/app", "tags": ["buildcache-linux-amd64"]}
            )
        challenge = (
            'Bearer realm="https://auth.example/token",service="reg.example",'
            'scope="repository:team/app:pull"'
        )
        return httpx.Response(401, headers={"WWW-Authenticate": challenge})

    return handler


def test_parse_challenge() -> None:
    c = parse_challenge('Bearer realm="https://a/t",service="svc",scope="repository:x:pull,push"')
    assert c is not None and c.scheme == "bearer"
    assert c.get("realm") == "https://a/t"
    assert c.get("scope") == "repository:x:pull,push"
    assert parse_challenge('Basic realm="mab-registry"') is not None
    assert parse_challenge("") is None


def test_bearer_flow_anonymous_token() -> None:
    issued: list[httpx.Request] = []
    c, _ = client(bearer_registry(issued))
    assert c.list_tags("team/app") == ["buildcache-linux-amd64"]
    assert c.list_tags("team/app") == ["buildcache-linux-amd64"]  # the token is reused
    assert len(issued) == 1
    params = issued[0].url.params
    assert params["service"] == "reg.example"
    assert params.get_list("scope") == ["repository:team/app:pull"]
    assert "Authorization" not in issued[0].headers


def test_bearer_flow_with_basic_credentials_for_the_token() -> None:
    issued: list[httpx.Request] = []
    c, _ = client(bearer_registry(issued, expect_user="me"), Credentials("me", SECRET, "test"))
    assert c.list_tags("team/app") == ["buildcache-linux-amd64"]
    assert issued[0].headers["Authorization"].startswith("Basic ")


def test_bearer_flow_with_an_identity_token_uses_the_refresh_grant() -> None:
    issued: list[httpx.Request] = []
    creds = Credentials("", SECRET, "credential helper", identity_token=True)
    c, _ = client(bearer_registry(issued, token_body={"access_token": "tok-123"}), creds)
    assert c.list_tags("team/app") == ["buildcache-linux-amd64"]
    assert issued[0].method == "POST"
    form = dict(x.split("=", 1) for x in issued[0].content.decode().split("&"))
    assert form["grant_type"] == "refresh_token"
    assert form["refresh_token"] == SECRET


def test_bearer_flow_wrong_credentials_is_clear_and_secret_free() -> None:
    issued: list[httpx.Request] = []
    creds = Credentials("me", "wrong-" + SECRET, "~/.docker/config.json (auths)")
    c, _ = client(bearer_registry(issued, expect_user="me"), creds)
    with pytest.raises(RegistryError) as info:
        c.list_tags("team/app")
    text = info.value.render()
    assert "rejected the credentials (user 'me' from ~/.docker/config.json (auths))" in text
    assert "docker login reg.example" in text
    assert SECRET not in text
    assert SECRET not in repr(creds)


@pytest.mark.parametrize(
    ("token_body", "message"),
    [({"nothing": 1}, "did not return a token"), ({"token": ""}, "did not return a token")],
)
def test_token_service_without_a_token(token_body: object, message: str) -> None:
    c, _ = client(bearer_registry([], token_body=token_body))
    with pytest.raises(RegistryError, match=message):
        c.list_tags("team/app")


def test_bearer_challenge_without_realm() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer service="x"'})

    c, _ = client(handler)
    with pytest.raises(RegistryError, match="without a usable realm"):
        c.list_tags("app")


def test_basic_challenge_without_credentials_asks_for_a_login() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})

    c, _ = client(handler)
    with pytest.raises(RegistryError, match="needs a login") as info:
        c.list_tags("app")
    assert info.value.hint is not None and "docker login reg.example" in info.value.hint


def test_unsupported_auth_scheme() -> None:
    c, _ = client(lambda r: httpx.Response(401, headers={"WWW-Authenticate": "Negotiate"}))
    with pytest.raises(RegistryError, match=r"unsupported auth scheme \(negotiate\)"):
        c.list_tags("app")


def test_forbidden_says_permission() -> None:
    body = {"errors": [{"code": "DENIED", "message": "requested access to the resource is denied"}]}
    c, _ = client(lambda r: httpx.Response(403, json=body))
    with pytest.raises(RegistryError, match=r"403 .*DENIED") as info:
        c.list_tags("app")
    assert info.value.hint is not None and "permission" in info.value.hint


# --------------------------------------------------------------------------- retries


def test_retries_429_and_503_honouring_retry_after() -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "2"}),
        httpx.Response(503),
        httpx.Response(200, json={"tags": ["x"]}),
    ]
    c, sleeps = client(lambda request: answers.pop(0))
    assert c.list_tags("app") == ["x"]
    assert sleeps == [2.0, 1.0]


def test_retry_after_is_capped() -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "86400"}), httpx.Response(200, json={})]
    c, sleeps = client(lambda request: answers.pop(0))
    c.list_tags("app")
    assert sleeps == [30.0]


def test_gives_up_after_the_retries() -> None:
    c, sleeps = client(lambda request: httpx.Response(502))
    with pytest.raises(RegistryError, match="answered 502") as info:
        c.list_tags("app")
    assert len(sleeps) == 3
    assert info.value.hint == "the registry is failing; retry later"


def test_timeouts_are_retried_then_reported() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    c, sleeps = client(handler)
    with pytest.raises(RegistryError, match="timed out"):
        c.list_tags("app")
    assert sleeps == [0.5, 1.0, 2.0]


def test_refused_connection_fails_at_once() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    c, sleeps = client(handler)
    with pytest.raises(RegistryError, match="cannot connect") as info:
        c.ping()
    assert sleeps == []
    assert info.value.hint is not None and "registry is running" in info.value.hint


# --------------------------------------------------------------------------- delete, push


def test_delete_not_allowed() -> None:
    body = {"errors": [{"code": "UNSUPPORTED", "message": "The operation is unsupported."}]}
    c, _ = client(lambda request: httpx.Response(405, json=body))
    with pytest.raises(RegistryError, match="does not allow deleting") as info:
        c.delete_manifest("app", D1)
    assert info.value.hint is not None and "storage.delete.enabled" in info.value.hint


def test_manifest_digest_from_head() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "HEAD"
        assert OCI_MANIFEST in request.headers["Accept"]
        return httpx.Response(200, headers={"Docker-Content-Digest": D1})

    c, _ = client(handler)
    assert c.manifest_digest(Reference("reg.example", "app", "t")) == D1


def test_manifest_digest_falls_back_to_get() -> None:
    body = cache_manifest()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(200)
        return httpx.Response(200, content=body, headers={"Content-Type": OCI_MANIFEST})

    c, _ = client(handler)
    assert c.manifest_digest(Reference("reg.example", "app", "t")) == digest_of(body)


def test_can_push_starts_and_cancels_an_upload() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/app/blobs/uploads/u1"})
        return httpx.Response(204)

    c, _ = client(handler)
    assert c.can_push("app")
    assert seen == ["POST /v2/app/blobs/uploads/", "DELETE /v2/app/blobs/uploads/u1"]


def test_can_push_denied() -> None:
    c, _ = client(lambda request: httpx.Response(403, json={"errors": [{"code": "DENIED"}]}))
    assert not c.can_push("app")


def test_probe_manifest_rejected() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(200)  # the test blob is already there
        body = {"errors": [{"code": "MANIFEST_INVALID", "message": "unsupported"}]}
        return httpx.Response(400, json=body)

    c, _ = client(handler)
    assert c.probe_manifest("app", OCI_INDEX, b"{}") is False


def test_token_service_is_retried_on_503() -> None:
    issued: list[httpx.Request] = []
    inner = bearer_registry(issued)
    failures = [httpx.Response(503)]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example" and failures:
            return failures.pop()
        return inner(request)

    c, sleeps = client(handler)
    assert c.list_tags("team/app") == ["buildcache-linux-amd64"]
    assert sleeps == [0.5]


def test_credentials_are_never_sent_to_a_plain_http_token_service() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        challenge = 'Bearer realm="http://auth.example/token",service="reg.example"'
        return httpx.Response(401, headers={"WWW-Authenticate": challenge})

    c, _ = client(handler, Credentials("me", SECRET, "test"))
    with pytest.raises(RegistryError, match="asked for a login over plain HTTP"):
        c.list_tags("app")
    assert all(r.url.host == "reg.example" for r in seen)


def test_anonymous_token_that_is_never_enough_asks_for_a_login() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example":
            return httpx.Response(200, json={"token": "useless"})
        challenge = 'Bearer realm="https://auth.example/token",service="reg.example"'
        return httpx.Response(401, headers={"WWW-Authenticate": challenge})

    c, _ = client(handler)
    with pytest.raises(RegistryError, match="needs a login"):
        c.list_tags("app")


def test_probe_manifest_accepted_even_where_deletes_are_not() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if request.method == "HEAD":
            return httpx.Response(404)  # the test blob must be uploaded first
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/app/blobs/uploads/u1?state=x"})
        if request.method == "PUT" and "/blobs/" in request.url.path:
            assert request.url.params["digest"].startswith("sha256:")
            assert request.url.params["state"] == "x"
            return httpx.Response(201)
        if request.method == "PUT":
            return httpx.Response(201)
        return httpx.Response(405, json={"errors": [{"code": "UNSUPPORTED"}]})

    c, _ = client(handler)
    assert c.probe_manifest("app", OCI_MANIFEST, cache_manifest()) is True
    assert seen == ["HEAD", "POST", "PUT", "PUT", "DELETE"]
