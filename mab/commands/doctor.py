"""`mab doctor`: gather facts from the engine (`mab.engine.docker`), the registry
(`mab.registry.client`) and
this machine (binfmt_misc, free disk), judge them with `mab.engine.doctor`, print the checks.
Exit 0 when every check passes, 1 otherwise."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import click

from mab.config.file import load_settings
from mab.engine.docker import DaemonFacts, daemon_facts, run_checks
from mab.engine.doctor import (
    BinfmtEntry,
    Disk,
    Facts,
    Failure,
    RegistryFacts,
    as_data,
    evaluate,
    parse_binfmt,
    render,
    requested_platforms,
)
from mab.errors import MabError
from mab.registry.caches import default_image, image_reference
from mab.registry.client import RegistryClient
from mab.registry.manifest import EMPTY_JSON_DIGEST, OCI_INDEX, OCI_MANIFEST

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
CACHE_CONFIG = "application/vnd.buildkit.cacheconfig.v0"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def read_binfmt(directory: Path = BINFMT_DIR) -> tuple[BinfmtEntry, ...] | None:
    """Every registration under binfmt_misc; None when it is not mounted or not readable."""
    try:
        names = sorted(p.name for p in directory.iterdir())
        globally_on = (directory / "status").read_text(encoding="utf-8").strip() == "enabled"
    except OSError:
        return None
    entries = []
    for name in names:
        if name in ("status", "register"):
            continue
        try:
            entry = parse_binfmt(name, (directory / name).read_text(encoding="utf-8"))
        except OSError:
            continue
        if not globally_on:
            entry = BinfmtEntry(entry.name, False, entry.flags, entry.interpreter)
        entries.append(entry)
    return tuple(entries)


def local_disk(daemon: DaemonFacts | None) -> Disk | str:
    """Free space where the daemon keeps its data, when that daemon runs on this machine."""
    if daemon is None or not daemon.root_dir:
        return "daemon not reachable"
    host = os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        return f"the daemon is remote ({host})"
    try:
        usage = shutil.disk_usage(daemon.root_dir)
    except OSError:
        return f"{daemon.root_dir} is not on this machine"
    return Disk(daemon.root_dir, usage.free, usage.total)


def _probe_bodies() -> tuple[bytes, bytes]:
    """The two kinds of cache manifest BuildKit writes, with the 2-byte `{}` as every blob."""
    blob = {"digest": EMPTY_JSON_DIGEST, "size": 2}
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": CACHE_CONFIG, **blob},
        "layers": [{"mediaType": LAYER, **blob}],
    }
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": LAYER, **blob}, {"mediaType": CACHE_CONFIG, **blob}],
    }
    return json.dumps(manifest).encode(), json.dumps(index).encode()


def _failure(exc: MabError) -> Failure:
    return Failure(exc.message, exc.hint)


def registry_facts(image: str, probe: bool) -> RegistryFacts:
    ref = image_reference(image)
    with RegistryClient(ref.registry) as client:
        try:
            ping = client.ping()
        except MabError as exc:
            return RegistryFacts(ref.name, ref.registry, _failure(exc))
        try:
            creds = client.credentials
        except MabError as exc:
            return RegistryFacts(ref.name, ref.registry, ping.auth_scheme, push=_failure(exc))
        identity = creds.describe() if creds else None
        if not probe:
            return RegistryFacts(ref.name, ref.registry, ping.auth_scheme, identity)
        try:
            push: bool | Failure = client.can_push(ref.repository)
        except MabError as exc:
            push = _failure(exc)
        if push is not True:
            return RegistryFacts(ref.name, ref.registry, ping.auth_scheme, identity, push)
        manifest_body, index_body = _probe_bodies()
        results: list[bool | Failure] = []
        for media_type, body in ((OCI_MANIFEST, manifest_body), (OCI_INDEX, index_body)):
            try:
                results.append(client.probe_manifest(ref.repository, media_type, body))
            except MabError as exc:
                results.append(_failure(exc))
        return RegistryFacts(
            ref.name, ref.registry, ping.auth_scheme, identity, True, results[0], results[1]
        )


@click.command("doctor")
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    help="Platform(s) to check, repeatable or comma-separated (default: .mab.yml's).",
)
@click.option("--image", help="Image whose registry (and cache refs) to check.")
@click.option("--builder", help="The buildx builder to check (default: the current one).")
@click.option(
    "--read-only",
    is_flag=True,
    help="Do not probe push access and manifest formats (they push, then delete, a test manifest).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
def doctor_command(
    platforms: tuple[str, ...],
    image: str | None,
    builder: str | None,
    read_only: bool,
    as_json: bool,
) -> int:
    """Check docker, buildx, the builder and its driver, emulators, the registry and disk."""
    root = Path.cwd()
    settings = load_settings(root)
    wanted = requested_platforms(platforms, settings.platforms)
    if image is None and settings.cache == "registry":
        try:
            image = default_image(root)
        except MabError:
            image = None
    exports = [f"type={settings.cache}"]
    preflight = run_checks(wanted, len(wanted) > 1, exports, builder)
    daemon = daemon_facts() if preflight.builder is not None else None
    facts = Facts(
        preflight=preflight,
        platforms=wanted,
        cache_backend=settings.cache,
        daemon_arch=daemon.architecture if daemon else None,
        binfmt=read_binfmt(),
        registry=registry_facts(image, probe=not read_only) if image else None,
        disk=local_disk(daemon),
    )
    report = evaluate(facts)
    if as_json:
        click.echo(json.dumps(as_data(report), indent=2))
    else:
        click.echo(render(report))
    return report.exit_code
