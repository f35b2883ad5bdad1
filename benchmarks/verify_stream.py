"""How `mab verify` reads layers: streamed once, stored nowhere.

Pushes a two-platform image to the local registry (127.0.0.1:5000) straight through the
registry API: per platform, several gzip layers of tar files (data files and ELF executables,
one x86-64 executable in the arm64 image so there is a finding to make), about 1 GB of
compressed layers in all, one layer shared by both platforms. The content is seeded, so a
second run pushes nothing new. Then it runs `mab verify` on the index, and, as the baseline
in the same run, `gzip -dc` over the same blobs (each once, from files on disk, to
/dev/null). Prints mab's peak RSS and throughput beside the baseline's.

    python3 benchmarks/verify_stream.py [--mb 1024] [--keep]

Targets: peak RSS <= 100 MB; throughput >= 0.5x `gzip -dc`; the shared layer read once.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mab.registry.client import RegistryClient  # noqa: E402

REGISTRY = "localhost:5000"
REPOSITORY = "mab-bench/verify-stream"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYERS_PER_PLATFORM = 4  # plus the shared one


def _data(rng: random.Random, size: int) -> bytes:
    """Text-like bytes that gzip to about 40% of their size: real layers compress too."""
    words = [rng.randbytes(rng.randint(2, 7)).hex() for _ in range(4096)]
    out = io.BytesIO()
    while out.tell() < size:
        out.write(" ".join(rng.choices(words, k=4096)).encode() + b"\n")
    return out.getvalue()[:size]


def _elf(machine: int, rng: random.Random) -> bytes:
    """A 64-bit little-endian ELF executable header for `machine`, then filler."""
    head = bytearray(64)
    head[:7] = b"\x7fELF\x02\x01\x01"
    head[16:20] = (2).to_bytes(2, "little") + machine.to_bytes(2, "little")
    return bytes(head) + rng.randbytes(64 * 1024)


def _layer(seed: str, raw_mb: float, machine: int, path: Path) -> None:
    rng = random.Random(seed)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        files = max(1, int(raw_mb // 8))
        for i in range(files):
            data = _data(rng, int(raw_mb * 1024 * 1024 / files))
            info = tarfile.TarInfo(f"data/{seed}/file{i}.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            binary = _elf(machine, rng)
            info = tarfile.TarInfo(f"usr/bin/{seed}-{i}")
            info.size, info.mode = len(binary), 0o755
            tar.addfile(info, io.BytesIO(binary))
    path.write_bytes(gzip.compress(raw.getvalue(), compresslevel=1, mtime=0))


def _push(client: RegistryClient, blobs: Path, total_mb: int) -> tuple[str, list[Path]]:
    """The index's digest, and the unique layer files."""
    per_layer = total_mb / (2 * LAYERS_PER_PLATFORM + 1) * 2.4  # raw MB per compressed MB
    shared = blobs / "shared.tar.gz"
    if not shared.exists():
        _layer("shared", per_layer, 62, shared)
    files = [shared]
    manifests = []
    for platform, machine in (("amd64", 62), ("arm64", 183)):
        layers = [shared]
        for i in range(LAYERS_PER_PLATFORM):
            path = blobs / f"{platform}-{i}.tar.gz"
            # the last arm64 layer holds x86-64 executables: a finding for mab to make
            wrong = platform == "arm64" and i == LAYERS_PER_PLATFORM - 1
            if not path.exists():
                _layer(f"{platform}-{i}", per_layer, 62 if wrong else machine, path)
            layers.append(path)
            files.append(path)
        descriptors = []
        for path in layers:
            data = path.read_bytes()
            digest = client.push_blob(REPOSITORY, data)
            descriptors.append({"mediaType": LAYER_TYPE, "digest": digest, "size": len(data)})
        config = json.dumps({"architecture": platform, "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": []}}).encode()  # fmt: skip
        config_digest = client.push_blob(REPOSITORY, config)
        config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": len(config)}  # fmt: skip
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": config_desc, "layers": descriptors}).encode()  # fmt: skip
        digest = client.put_manifest(
            REPOSITORY, hashlib.sha256(body).hexdigest()[:8], OCI_MANIFEST, body
        )
        assert digest, "the registry refused the manifest"
        manifests.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body),
                          "platform": {"architecture": platform, "os": "linux"}})  # fmt: skip
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    ).encode()
    digest = client.put_manifest(REPOSITORY, "bench", OCI_INDEX, index)
    assert digest, "the registry refused the index"
    return digest, files


def _run_measured(argv: list[str]) -> tuple[float, int, str]:
    """Wall time, peak RSS (bytes) and stdout of one child process. The peak is the child's
    own `VmHWM`, polled until it exits (it only grows): `ru_maxrss` would carry over this
    process's own peak, which a child inherits across fork and exec."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    status = Path(f"/proc/{child.pid}/status")
    chunks: list[bytes] = []
    peak = 0
    assert child.stdout is not None
    os.set_blocking(child.stdout.fileno(), False)
    while child.poll() is None:
        try:
            line = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM:"))
            peak = max(peak, int(line.split()[1]) * 1024)
        except (OSError, StopIteration):
            pass
        chunks.append(child.stdout.read() or b"")
        time.sleep(0.05)
    chunks.append(child.stdout.read() or b"")
    return time.perf_counter() - started, peak, b"".join(chunks).decode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=1024, help="compressed layers in all (MB)")
    parser.add_argument(
        "--blobs", type=Path, default=Path(tempfile.gettempdir()) / "mab-bench-verify"
    )
    args = parser.parse_args()
    args.blobs.mkdir(parents=True, exist_ok=True)
    print(f"layers in {args.blobs} (kept, so a second run is quick) ...", file=sys.stderr)
    with RegistryClient(REGISTRY) as client:
        digest, files = _push(client, args.blobs, args.mb)
    compressed = sum(f.stat().st_size for f in files)

    baseline = 0.0
    for path in files:
        started = time.perf_counter()
        subprocess.run(["gzip", "-dc", str(path)], stdout=subprocess.DEVNULL, check=True)
        baseline += time.perf_counter() - started

    mab = [sys.executable, "-m", "mab", "verify", f"{REGISTRY}/{REPOSITORY}@{digest}",
           "--platform", "linux/amd64,linux/arm64", "--no-sign", "--no-provenance", "--no-sbom",
           "--json"]  # fmt: skip
    elapsed, rss, out = _run_measured(mab)
    report = json.loads(out)
    wrong = [w["path"] for p in report["platforms"] for w in p["wrong"]]
    layer_refs = sum(p["layers"] for p in report["platforms"])
    ratio = baseline / elapsed
    mb = compressed / 1e6
    print(f"index of 2 platforms, {layer_refs} layer references, {len(files)} unique layers, "
          f"{mb:.0f} MB compressed")  # fmt: skip
    print(f"mab verify:  {elapsed:6.1f} s  {mb / elapsed:6.1f} MB/s compressed  "
          f"peak RSS {rss / 1e6:5.1f} MB  layers read {report['layers_read']}  "
          f"findings {len(report['findings'])} ({len(wrong)} wrong binaries)")  # fmt: skip
    print(
        f"gzip -dc:    {baseline:6.1f} s  {mb / baseline:6.1f} MB/s compressed  "
        "(the same blobs, each once)"
    )
    print(f"throughput: {ratio:.2f}x gzip -dc (target >= 0.5); peak RSS target <= 100 MB; "
          f"shared layer read once: {report['layers_read'] == len(files)}")  # fmt: skip
    ok = ratio >= 0.5 and rss <= 100e6 and report["layers_read"] == len(files) and wrong
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
