"""cosign's signatures on an image: where they live (the `sha256-<hex>.sig` tag, or OCI
referrers), what a simple-signing payload claims, and checking one against a public key.
Pure: bytes in, answers out (`cryptography` does the arithmetic)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
SIGNATURE_ARTIFACTS = (
    "application/vnd.dev.sigstore.bundle",
    "application/vnd.dev.cosign.artifact.sig",
)
FULCIO_ISSUER_OIDS = ("1.3.6.1.4.1.57264.1.8", "1.3.6.1.4.1.57264.1.1")

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True)
class Signature:
    scheme: str  # "tag" (cosign's `.sig` tag) or "referrers"
    where: str  # the tag, or the referrer's digest
    signer: str  # "a key", or the keyless certificate's identity
    verified: bool | None  # None: nothing to verify it with
    detail: str


def signature_tag(digest: str) -> str:
    """cosign's tag for the signatures of a manifest: `sha256-<hex>.sig`."""
    return digest.replace(":", "-", 1) + ".sig"


def referrers_tag(digest: str) -> str:
    """The OCI referrers tag schema's fallback for registries without the referrers API."""
    return digest.replace(":", "-", 1)


def is_signature_artifact(artifact_type: str | None) -> bool:
    return bool(artifact_type) and str(artifact_type).startswith(SIGNATURE_ARTIFACTS)


def load_public_key(pem: bytes) -> PublicKey:
    """A PEM public key (`cosign.pub`); raises ValueError when it is not one mab can use."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise ValueError(f"a {type(key).__name__} key (mab checks ECDSA, RSA and Ed25519)")
    return key


def signature_bytes(annotation: str | None) -> bytes | None:
    if not annotation:
        return None
    try:
        return base64.b64decode(annotation, validate=True)
    except (binascii.Error, ValueError):
        return None


def verify(key: PublicKey, payload: bytes, signature: bytes) -> bool:
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.verify(signature, payload)
    except (InvalidSignature, ValueError):
        return False
    return True


def signed_digest(payload: bytes) -> str | None:
    """The manifest digest a simple-signing payload claims (`critical.image`)."""
    try:
        data: Any = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    critical = data.get("critical") if isinstance(data, dict) else None
    image = critical.get("image") if isinstance(critical, dict) else None
    digest = image.get("docker-manifest-digest") if isinstance(image, dict) else None
    return digest if isinstance(digest, str) else None


def keyless_identity(certificate_pem: str) -> str:
    """`identity (issuer)` of a Fulcio certificate, as far as it can be read."""
    try:
        cert = x509.load_pem_x509_certificate(certificate_pem.encode())
    except ValueError:
        return "an unreadable certificate"
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*san.get_values_for_type(x509.UniformResourceIdentifier)]
        names += san.get_values_for_type(x509.RFC822Name)
    except x509.ExtensionNotFound:
        pass
    issuer = ""
    for ext in cert.extensions:
        value = ext.value
        if ext.oid.dotted_string in FULCIO_ISSUER_OIDS and isinstance(
            value, x509.UnrecognizedExtension
        ):
            raw = value.value  # .1.8 is a DER UTF8String, the older .1.1 the bare text
            issuer = (raw[2:] if raw[:1] == b"\x0c" else raw).decode("utf-8", "replace")
            break
    who = names[0] if names else "an unnamed identity"
    return f"{who} ({issuer})" if issuer else who
