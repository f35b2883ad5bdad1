"""`mab verify IMAGE[:TAG|@DIGEST]`: prove a published image is what it claims, from the
registry alone (no pull, no engine): every expected platform present, every ELF file built for
its platform, provenance and SBOM attestations bound to each platform, a signature (verified
with `--key`). The reading is `mab.registry.verify`'s, the judging `mab.registry.verdict`'s.

Exit codes: 0 no finding, 1 findings, 2 bad usage, 5 registry unreachable or failing,
7 the registry refused access, 8 the image is not there."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mab.config.file import load_config
from mab.config.settings import parse_platforms
from mab.errors import (
    EXIT_CHECK_FAILED,
    EXIT_REGISTRY_AUTH,
    EXIT_REGISTRY_NOT_FOUND,
    RegistryAuthError,
    RegistryNotFound,
    UserError,
)
from mab.registry.client import RegistryClient
from mab.registry.reference import parse_reference
from mab.registry.signatures import PublicKey, load_public_key
from mab.registry.verdict import Expectations, as_data, findings, render_text
from mab.registry.verify import verify_image


def read_key(path: Path) -> PublicKey:
    try:
        return load_public_key(path.read_bytes())
    except OSError as exc:
        raise UserError(
            f"--key {path}: {exc.strerror or exc}", hint="give the path of cosign.pub"
        ) from None
    except ValueError as exc:
        raise UserError(
            f"--key {path}: not a PEM public key mab can use ({str(exc).splitlines()[0][:120]})",
            hint="give the public key (`cosign.pub` from `cosign generate-key-pair`), not the "
            "private one",
        ) from None


@click.command("verify")
@click.argument("image")
@click.option(
    "--platform",
    "platforms",
    metavar="P,…",
    help="Platforms the image must hold (default: .mab.yml's).",
)
@click.option(
    "--key",
    type=click.Path(path_type=Path, dir_okay=False),
    help="cosign public key: a signature must verify with it.",
)
@click.option("--no-provenance", is_flag=True, help="Do not require provenance attestations.")
@click.option("--no-sbom", is_flag=True, help="Do not require SBOM attestations.")
@click.option("--no-sign", is_flag=True, help="Do not require a signature.")
@click.option(
    "--ignore-path",
    "ignore",
    multiple=True,
    metavar="GLOB",
    help="ELF files to leave out of the architecture check (e.g. '/usr/aarch64-linux-gnu/*').",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def verify_command(
    image: str,
    platforms: str | None,
    key: Path | None,
    no_provenance: bool,
    no_sbom: bool,
    no_sign: bool,
    ignore: tuple[str, ...],
    as_json: bool,
) -> int:
    """Check a published multi-platform image: platforms, binaries, attestations, signatures."""
    ref = parse_reference(image)
    config = load_config(Path())
    expected = parse_platforms(platforms) if platforms else config.platforms if config else ()
    public_key = read_key(key) if key else None
    expect = Expectations(not no_provenance, not no_sbom, not no_sign, public_key is not None)
    tell = sys.stderr.isatty()
    try:
        with RegistryClient(ref.registry) as client:
            report = verify_image(
                client,
                ref,
                tuple(expected),
                key=public_key,
                ignore=ignore,
                progress=lambda text: click.echo(f"mab: {text}", err=True) if tell else None,
            )
    except RegistryAuthError as exc:
        exc.exit_code = EXIT_REGISTRY_AUTH
        raise
    except RegistryNotFound as exc:
        exc.exit_code = EXIT_REGISTRY_NOT_FOUND
        raise
    found = findings(report, expect)
    if as_json:
        click.echo(json.dumps(as_data(report, found), indent=2))
    else:
        click.echo(render_text(report, found))
    return EXIT_CHECK_FAILED if found else 0
