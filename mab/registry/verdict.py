"""What in a `VerifyReport` is a finding, and the report as text or as a JSON document. Pure."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mab.registry.verify import PlatformReport, VerifyReport

SHOWN_PER_PLATFORM = 20  # wrong binaries listed per platform in the text view (JSON has all)


@dataclass(frozen=True)
class Expectations:
    """What the image must carry besides the platforms (`--no-provenance`, `--no-sbom`,
    `--no-sign` drop one)."""

    provenance: bool = True
    sbom: bool = True
    signature: bool = True
    key: bool = False  # a key was given: a signature must verify with it


@dataclass(frozen=True)
class Finding:
    platform: str | None  # None: about the whole image
    kind: str
    message: str


def findings(report: VerifyReport, expect: Expectations) -> tuple[Finding, ...]:
    found: list[Finding] = []
    for p in report.platforms:
        found += _platform_findings(report, p, expect)
    sigs = report.signatures
    if expect.signature and not sigs:
        found.append(
            Finding(
                None,
                "unsigned",
                f"no signature of {report.digest} (cosign's .sig tag or OCI referrers)",
            )
        )
    for s in sigs:
        if s.verified is False:
            found.append(Finding(None, "bad-signature", f"signature {s.where}: {s.detail}"))
    if expect.key and sigs and not any(s.verified for s in sigs):
        found.append(Finding(None, "bad-signature", "no signature verifies with the given key"))
    return tuple(dict.fromkeys(found))


def _platform_findings(
    report: VerifyReport, p: PlatformReport, expect: Expectations
) -> list[Finding]:
    name = p.platform
    if p.digest is None:
        return [Finding(name, "missing-platform", f"{name} is expected but not in the index")]
    found = [
        Finding(
            name,
            "wrong-architecture",
            f"{w.path} is an {w.found}, not a {name} binary (layer {w.layer})",
        )
        for w in p.wrong
    ]
    found += [Finding(name, "unreadable-layer", f"layer {u}") for u in p.unreadable]
    if not report.is_index:
        return found  # a lone manifest has nowhere to bind attestations
    kinds = {a.kind for a in p.attestations if a.bound}
    for a in p.attestations:
        if not a.bound:
            found.append(
                Finding(name, "unbound-attestation", f"{a.kind} {a.digest} is not about {p.digest}")
            )
    if expect.provenance and "provenance" not in kinds:
        found.append(
            Finding(name, "no-provenance", "no provenance attestation bound to its manifest")
        )
    if expect.sbom and "sbom" not in kinds:
        found.append(Finding(name, "no-sbom", "no SBOM attestation bound to its manifest"))
    return found


# --------------------------------------------------------------------------- rendering


def size_text(size: int | None) -> str:
    if size is None:
        return "size unknown"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def short(digest: str | None) -> str:
    return digest[:19] if digest else "-"


def render_text(report: VerifyReport, found: tuple[Finding, ...]) -> str:
    kind = (
        f"index of {sum(p.digest is not None for p in report.platforms)} platform(s)"
        if report.is_index
        else "single manifest"
    )
    lines = [f"{report.image}  {short(report.digest)}  ({kind})"]
    for p in report.platforms:
        lines += _platform_lines(p)
    lines.append("signatures:")
    lines += [f"  {s.scheme} {s.where}: {s.signer}, {s.detail}" for s in report.signatures] or [
        "  none"
    ]
    lines.append(
        f"layers read: {report.layers_read}, once each ({size_text(report.bytes_read)} streamed)"
    )
    if not found:
        lines.append("verdict: OK, no findings")
        return "\n".join(lines)
    lines.append(f"verdict: {len(found)} finding(s)")
    lines += [f"  {f.platform + ': ' if f.platform else ''}{f.message}" for f in found]
    return "\n".join(lines)


def _platform_lines(p: PlatformReport) -> list[str]:
    if p.digest is None:
        return [f"  {p.platform:<13} MISSING from the index"]
    mark = "ok" if not p.wrong and not p.unreadable else "WRONG"
    lines = [
        f"  {p.platform:<13} {short(p.digest)}  {p.layers} layers, {size_text(p.size)}; "
        f"ELF files: {p.elf_files} ({mark if p.arch_known else 'architecture not checked'})"
    ]
    lines += [
        f"      ✗ {w.path}: {w.found} (layer {short(w.layer)})"
        for w in p.wrong[:SHOWN_PER_PLATFORM]
    ]
    if len(p.wrong) > SHOWN_PER_PLATFORM:
        lines.append(f"      … and {len(p.wrong) - SHOWN_PER_PLATFORM} more (--json lists all)")
    for a in p.attestations:
        bound = "bound to this manifest" if a.bound else "NOT about this manifest"
        lines.append(f"      {a.kind}: {a.detail or a.predicate_type}, {bound}")
    if not p.attestations:
        lines.append("      attestations: none")
    for b in p.bases:
        note = f" ({b.note})" if b.note else ""
        lines.append(
            f"      base: {b.image.name} {short(b.image.digest)}, {size_text(b.size)}{note}"
        )
    return lines


def as_data(report: VerifyReport, found: tuple[Finding, ...]) -> dict[str, Any]:
    data = asdict(report)
    data["ok"] = not found
    data["findings"] = [asdict(f) for f in found]
    return data
