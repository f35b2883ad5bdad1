"""`mab verify`'s pure parts: what counts as a finding, the text and JSON views, attestation
statements (recorded shapes of BuildKit's provenance and SBOM statements), cosign payloads
checked with keys made here, and the command's usage errors (no registry needed for those).
The registry reading itself runs against the real engine in test_verify_engine.py."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mab.registry.attestations import Attestation, BaseImage, base_images, read_statement
from mab.registry.manifest import Descriptor
from mab.registry.signatures import (
    Signature,
    keyless_identity,
    load_public_key,
    signature_tag,
    signed_digest,
    verify,
)
from mab.registry.verdict import Expectations, as_data, findings, render_text
from mab.registry.verify import PlatformReport, VerifyReport, WrongBinary

AMD, ARM = "sha256:" + "a" * 64, "sha256:" + "b" * 64
PROVENANCE = Attestation(
    "provenance", "https://slsa.dev/provenance/v0.2", "sha256:p", True, "SLSA v0.2, mode=max"
)
SBOM = Attestation("sbom", "https://spdx.dev/Document", "sha256:s", True, "SPDX")
SIGNED = (Signature("tag", signature_tag("sha256:" + "c" * 64), "a key", True, "verified"),)


def report(*platforms: PlatformReport, signatures: tuple[Signature, ...] = SIGNED) -> VerifyReport:
    return VerifyReport(
        "localhost:5000/app:1",
        "sha256:" + "c" * 64,
        True,
        ("linux/amd64", "linux/arm64"),
        platforms,
        signatures,
        3,
        1000,
    )


def platform(name: str, digest: str, **kw: object) -> PlatformReport:
    values: dict[str, object] = {
        "size": 2048,
        "layers": 2,
        "elf_files": 1,
        "attestations": (PROVENANCE, SBOM),
    }
    values.update(kw)
    return PlatformReport(name, digest, **values)  # type: ignore[arg-type]


def test_a_complete_image_has_no_findings_and_says_so() -> None:
    r = report(platform("linux/amd64", AMD), platform("linux/arm64", ARM))
    assert findings(r, Expectations(key=True)) == ()
    text = render_text(r, ())
    assert "verdict: OK, no findings" in text
    assert "provenance: SLSA v0.2, mode=max, bound to this manifest" in text
    assert as_data(r, ())["ok"] is True


def test_each_kind_of_finding() -> None:
    wrong = WrongBinary(
        "/usr/local/bin/tool", "sha256:" + "d" * 64, "x86-64 (64-bit) static executable"
    )
    unbound = Attestation("provenance", "https://slsa.dev/provenance/v0.2", "sha256:p", False, "")
    r = report(
        platform("linux/amd64", AMD, attestations=(unbound,)),
        platform("linux/arm64", ARM, wrong=(wrong,)),
        PlatformReport("linux/s390x", None),
        signatures=(),
    )
    kinds = [(f.platform, f.kind) for f in findings(r, Expectations())]
    assert kinds == [
        ("linux/amd64", "unbound-attestation"),
        ("linux/amd64", "no-provenance"),
        ("linux/amd64", "no-sbom"),
        ("linux/arm64", "wrong-architecture"),
        ("linux/s390x", "missing-platform"),
        (None, "unsigned"),
    ]
    relaxed = Expectations(provenance=False, sbom=False, signature=False)
    assert [f.kind for f in findings(r, relaxed)] == [
        "unbound-attestation",
        "wrong-architecture",
        "missing-platform",
    ]
    text = render_text(r, findings(r, Expectations()))
    assert "✗ /usr/local/bin/tool: x86-64 (64-bit) static executable" in text
    assert "linux/s390x   MISSING from the index" in text
    assert "verdict: 6 finding(s)" in text


def test_a_signature_that_does_not_verify_is_a_finding_and_so_is_none_verifying_a_key() -> None:
    bad = (Signature("tag", "x.sig", "a key", False, "does not verify with the given key"),)
    r = report(platform("linux/amd64", AMD), platform("linux/arm64", ARM), signatures=bad)
    assert [f.kind for f in findings(r, Expectations(key=True))] == ["bad-signature"] * 2
    unchecked = (Signature("tag", "x.sig", "a key", None, "present"),)
    r = report(platform("linux/amd64", AMD), platform("linux/arm64", ARM), signatures=unchecked)
    assert findings(r, Expectations()) == ()
    assert [f.kind for f in findings(r, Expectations(key=True))] == ["bad-signature"]


STATEMENT = {
    "_type": "https://in-toto.io/Statement/v0.1",
    "predicateType": "https://slsa.dev/provenance/v0.2",
    "subject": [
        {"name": "pkg:docker/app@1?platform=linux%2Farm64", "digest": {"sha256": "b" * 64}}
    ],
    "predicate": {
        "builder": {"id": ""},
        "materials": [
            {
                "uri": "pkg:docker/localhost%3A5000/base/busybox@1?platform=linux%2Farm64",
                "digest": {"sha256": "e" * 64},
            },
            {"uri": "https://example.invalid/file.tgz", "digest": {"sha256": "f" * 64}},
        ],
        "buildConfig": {"llbDefinition": []},
    },
}


def test_provenance_statements_are_bound_by_their_subject_and_name_their_bases() -> None:
    layer = Descriptor(
        "application/vnd.in-toto+json",
        "sha256:p",
        10,
        (("in-toto.io/predicate-type", "https://slsa.dev/provenance/v0.2"),),
    )
    assert read_statement(layer, STATEMENT, ARM) == Attestation(
        "provenance", "https://slsa.dev/provenance/v0.2", "sha256:p", True, "SLSA v0.2, mode=max"
    )
    assert read_statement(layer, STATEMENT, AMD).bound is False
    minimal = {**STATEMENT, "predicate": {"materials": []}}
    assert read_statement(layer, minimal, ARM).detail == "SLSA v0.2, mode=min"
    assert base_images(STATEMENT) == (
        BaseImage("localhost:5000/base/busybox:1", "sha256:" + "e" * 64, "linux/arm64"),
    )
    v1 = {
        "predicateType": "https://slsa.dev/provenance/v1",
        "subject": STATEMENT["subject"],
        "predicate": {"buildDefinition": {"internalParameters": {"buildConfig": {}}}},
    }
    assert read_statement(Descriptor("x", "sha256:q", 1), v1, ARM).detail == "SLSA v1, mode=max"


def test_sbom_statements_are_recognised() -> None:
    sbom = {
        "predicateType": "https://spdx.dev/Document",
        "subject": STATEMENT["subject"],
        "predicate": {},
    }
    layer = Descriptor("application/vnd.in-toto+json", "sha256:s", 10)
    assert read_statement(layer, sbom, ARM) == Attestation(
        "sbom", "https://spdx.dev/Document", "sha256:s", True, "SPDX"
    )


def _payload(digest: str) -> bytes:
    critical = {
        "identity": {"docker-reference": "localhost:5000/app"},
        "image": {"docker-manifest-digest": digest},
        "type": "cosign container image signature",
    }
    return json.dumps({"critical": critical, "optional": None}).encode()


def test_cosign_payloads_verify_with_their_key_only() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    payload = _payload(AMD)
    signature = private.sign(payload, ec.ECDSA(hashes.SHA256()))
    key = load_public_key(pem)
    assert verify(key, payload, signature) is True
    assert verify(key, _payload(ARM), signature) is False
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert verify(other, payload, signature) is False
    assert signed_digest(payload) == AMD and signed_digest(b"nonsense") is None
    with pytest.raises(ValueError):
        load_public_key(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")


def test_a_keyless_certificate_names_its_identity_and_issuer() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sigstore-intermediate")])
    now = datetime.datetime.now(datetime.UTC)
    issuer = "https://token.actions.githubusercontent.com"
    identity = "https://github.com/acme/app/.github/workflows/mab.yml@refs/heads/main"
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(minutes=10))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity)]), False
        )
        .add_extension(
            x509.UnrecognizedExtension(
                x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1"), issuer.encode()
            ),
            False,
        )
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    assert keyless_identity(pem) == f"{identity} ({issuer})"
    assert keyless_identity("garbage") == "an unreadable certificate"


def test_usage_errors_exit_2_before_any_registry_is_asked(
    run_mab: Callable[..., int], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run_mab("verify", "Not A Reference!") == 2
    assert "not a valid image reference" in capsys.readouterr().err
    private = tmp_path / "cosign.key"
    marker = "ENCRYPTED SIGSTORE PRIVATE KEY"
    private.write_text(f"-----BEGIN {marker}-----\nabc\n-----END {marker}-----\n")
    assert run_mab("verify", "--key", str(private), "localhost:1/app:1") == 2
    err = capsys.readouterr().err
    assert "not a PEM public key" in err and "cosign.pub" in err and "Traceback" not in err
    assert run_mab("verify", "--key", str(tmp_path / "missing.pub"), "localhost:1/app:1") == 2
    assert run_mab("verify", "--platform", "linux/nope", "localhost:1/app:1") == 2
