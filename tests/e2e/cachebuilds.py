"""Cache-hit scenarios on the real engine, shared by `test_cache_hits.py` and
`benchmarks/cache_hits.py`.

- `ci_cache_specs`: the `--cache-from`/`--cache-to` values of each platform's build job, read out
  of the workflow `mab init-ci` writes (a push to the default branch, which writes the caches).
- `mab_build` runs `mab build --no-tui --json` and keeps its summary; `plain_build` runs the same
  build with `docker buildx build --progress=plain`; `parse_plain` reads that text.
- `Scenario` makes the issue's sequence of builds, each once, when first asked for.
- `prune` empties the builder's whole cache (`docker builder prune -af`): a fresh CI runner.
  The `docker` driver's builder is the engine's, shared by everyone using it: a prune only costs
  other builds their local hits, never their correctness (whoever needs a cache brings it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from mab.generators.github import ghexpr
from tests import engine_env as engine_check

BUILD_TIMEOUT_S = 1200  # one build; an emulated install on a loaded 2-core machine takes minutes
DEPS_STAGE = "deps"
SRC_STAGE = "src"
SHARED_TAG = "buildcache"  # the seed material's one cache for every platform
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_MANIFEST_TYPES = ", ".join(
    (
        OCI_MANIFEST,
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)
CACHE_CONFIG = "application/vnd.buildkit.cacheconfig.v0"

# --------------------------------------------------------------------------- the project


def copy_project(dest: Path, salt: str) -> Path:
    """A copy of the reference project with one image (no `variants/`), whose lockfile and
    sources carry `salt` in a comment. What the steps make is unchanged, but every cache key
    past the base stage is new: no earlier run, and no other build of the reference project
    on the same engine meanwhile, can make this one's cold builds warm."""
    shutil.copytree(engine_check.PROJECT_DIR, dest, ignore=shutil.ignore_patterns("variants"))
    for name in ("deps.lock", "src/lib.sh"):
        path = dest / name
        path.write_text(path.read_text(encoding="utf-8") + f"# run {salt}\n", encoding="utf-8")
    return dest


def change_source(project: Path, note: str) -> None:
    """A source-only change: the `src` stage changes, the lockfile does not."""
    main = project / "src" / "main.sh"
    main.write_text(main.read_text(encoding="utf-8") + f"# {note}\n", encoding="utf-8")


def change_lockfile(project: Path, note: str) -> None:
    """A new locked dependency: the install step must run again."""
    lock = project / "deps.lock"
    line = f"left-pad-{note[:8]}      1.3.0      sha256-{uuid.uuid4().hex}\n"
    lock.write_text(lock.read_text(encoding="utf-8") + line, encoding="utf-8")


def private_base(image: str, salt: str) -> str:
    """A copy of the engine's two-platform base image that differs only by a label, pushed as
    `<image>-base:1`. Given as the reference Dockerfile's `BASE` build arg, it makes every cache
    key of the build, the base stage's included, this run's own: other builds on the shared
    builder (which may re-warm it between a prune and a build) cannot hand it a local hit."""
    ref = f"{image}-base:1"
    engine_check.push_image(
        ref, f"FROM {engine_check.BASE_IMAGE}\nLABEL org.mab.test.salt={salt}\n"
    )
    return ref


# --------------------------------------------------------------------------- init-ci's values


@dataclass(frozen=True)
class CacheSpecs:
    """What one platform's build job passes to buildx."""

    platform: str
    cache_from: tuple[str, ...]
    cache_to: str

    @property
    def ref(self) -> str:
        """The registry ref `cache_to` writes."""
        return spec_ref(self.cache_to)


def spec_ref(spec: str) -> str:
    fields = dict(part.split("=", 1) for part in spec.split(",") if "=" in part)
    return fields["ref"]


_TEMPLATE = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.S)
_PATH = re.compile(r"[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*")
_STRING = r"'((?:[^']|'')*)'"
_WHEN = re.compile(
    rf"\((?P<cond>.*)\)\s*&&\s*format\({_STRING}\s*,\s*(?P<args>[^)]*)\)\s*\|\|\s*''", re.S
)


def _lookup(path: str, contexts: Mapping[str, Any]) -> str:
    value: Any = contexts
    for part in path.split("."):
        value = value[part]  # a KeyError names what the workflow uses that we do not know
    return str(value)


def _expression(expr: str, contexts: Mapping[str, Any]) -> str:
    """The two forms the build step uses: a context path, and `ghexpr.when(CACHE_WRITE, ...)`
    (`(cond) && format('...', a, b) || ''`), taken on a push to the default branch."""
    if _PATH.fullmatch(expr):
        return _lookup(expr, contexts)
    when = _WHEN.fullmatch(expr)
    if when is None:
        raise ValueError(f"cannot evaluate the workflow expression {expr!r}")
    if when.group("cond") != ghexpr.CACHE_WRITE:
        raise ValueError(f"cache-to is written under {when.group('cond')!r}, not CACHE_WRITE")
    args = [_lookup(a.strip(), contexts) for a in when.group("args").split(",")]
    template = when.group(2).replace("''", "'")
    return template.format(*args)


def render(template: str, contexts: Mapping[str, Any]) -> str:
    return _TEMPLATE.sub(lambda m: _expression(m.group(1), contexts), template)


def ci_cache_specs(project: Path, image: str, platforms: Sequence[str]) -> dict[str, CacheSpecs]:
    """Run `mab init-ci` on `project` and read each platform's cache values out of the native
    strategy's build job (the matrix entry's values)."""
    argv = [sys.executable, "-m", "mab", "init-ci", "--github", "--strategy", "native"]
    argv += ["--cache", "registry", "--image", image, "--platform", ",".join(platforms)]
    done = subprocess.run(argv, cwd=project, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"mab init-ci failed:\n{done.stdout}\n{done.stderr}")
    workflow = YAML(typ="safe").load((project / ".github/workflows/mab.yml").read_text("utf-8"))
    builds = [
        (job, step)
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if step.get("id") == "mab-build"
    ]
    if len(builds) != 1:
        raise RuntimeError(f"expected one mab-build step, found {len(builds)}")
    job, step = builds[0]
    matrix = job["strategy"]["matrix"]
    if len(matrix["image"]) != 1:
        raise RuntimeError(f"expected one image, found {[i['name'] for i in matrix['image']]}")
    specs = {}
    for platform in matrix["platform"]:
        contexts = {"matrix": {"image": matrix["image"][0], "platform": platform}}
        sources = [render(line, contexts) for line in step["with"]["cache-from"].splitlines()]
        target = render(step["with"]["cache-to"], contexts)
        specs[platform["name"]] = CacheSpecs(platform["name"], tuple(sources), target)
    return specs


def shared_specs(image: str) -> CacheSpecs:
    """The seed material's command: one cache for all platforms of one build."""
    ref = f"{image}:{SHARED_TAG}"
    return CacheSpecs("*", (f"type=registry,ref={ref}",), f"type=registry,ref={ref},mode=max")


# --------------------------------------------------------------------------- running builds


def prune() -> None:
    """A fresh CI runner: nothing in the builder's cache."""
    subprocess.run(
        ["docker", "builder", "prune", "-af"], capture_output=True, check=True, timeout=300
    )


def _cache_args(specs: CacheSpecs, export: bool = True) -> list[str]:
    argv: list[str] = []
    for spec in specs.cache_from:
        argv += ["--cache-from", spec]
    return [*argv, "--cache-to", specs.cache_to] if export else argv


@dataclass
class MabRun:
    """One `mab build --json` and what it reported."""

    platforms: tuple[str, ...]
    exit_code: int
    wall_s: float
    summary: dict[str, Any]
    stderr: str

    def steps(self, stage: str, platform: str) -> list[dict[str, Any]]:
        """The stage's instructions (FROM aside) built for `platform`, by index."""
        found = [
            s
            for s in self.summary.get("steps", [])
            if s["stage"] == stage
            and platform in s["platforms"]
            and not s["instruction"].upper().startswith("FROM ")
        ]
        return sorted(found, key=lambda s: s["index"])

    def states(self, stage: str, platform: str) -> dict[str, str]:
        """`{"1/2 COPY deps.lock ./": "cached", ...}` for one stage and platform."""
        return {
            f"{s['index']}/{s['total']} {s['instruction'].split(chr(10))[0][:40]}": s["state"]
            for s in self.steps(stage, platform)
        }

    def platform(self, platform: str) -> dict[str, Any]:
        numbers: dict[str, Any] = self.summary["platforms"][platform]
        return numbers

    @property
    def outcome(self) -> str:
        """ "ok"; "cache export failed" when every Dockerfile step finished and only the export
        of the cache failed the build (the seed material's command has no ignore-error);
        else "failed"."""
        if self.exit_code == 0 and self.summary.get("status") == "succeeded":
            return "ok"
        steps = self.summary.get("steps", [])
        finished = bool(steps) and all(s["state"] in ("cached", "done") for s in steps)
        if finished and "exporting cache to registry ERROR" in self.stderr:
            return "cache export failed"
        return "failed"


def _build_args(base: str | None) -> list[str]:
    args = ["--build-arg", f"BASE={base}"] if base else []
    work = os.environ.get("MAB_DEPS_WORK")  # the benchmark's heavier dependency install
    return [*args, "--build-arg", f"DEPS_WORK={work}"] if work else args


def mab_build(
    project: Path,
    platforms: Sequence[str],
    specs: CacheSpecs,
    tag: str,
    push: bool = True,
    base: str | None = None,
    record: Path | None = None,
) -> MabRun:
    argv = [sys.executable, "-m", "mab", "build", "--no-tui", "--json", *_build_args(base)]
    argv += ["--record", str(record)] if record else []
    argv += ["--platform", ",".join(platforms), "--tag", tag, *_cache_args(specs)]
    argv += ["--push", "."] if push else ["."]
    start = time.monotonic()
    done = subprocess.run(
        argv, cwd=project, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
    )
    wall = time.monotonic() - start
    try:
        summary = json.loads(done.stdout)
    except json.JSONDecodeError:
        summary = {}
    return MabRun(tuple(platforms), done.returncode, wall, summary, done.stderr)


@dataclass
class PlainRun:
    exit_code: int
    text: str
    vertices: dict[int, PlainVertex]


def plain_build(
    project: Path,
    platforms: Sequence[str],
    specs: CacheSpecs,
    tag: str,
    export: bool = True,
    base: str | None = None,
) -> PlainRun:
    """The same build through buildx alone, with `--progress=plain` (and without the cache
    export unless `export`)."""
    argv = ["docker", "buildx", "build", "--progress=plain", *_build_args(base)]
    argv += ["--platform", ",".join(platforms)]
    argv += ["--tag", tag, *_cache_args(specs, export)]
    argv += ["--push", "."] if export else ["."]
    done = subprocess.run(
        argv, cwd=project, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
    )
    text = done.stdout + done.stderr  # plain progress goes to stderr
    return PlainRun(done.returncode, text, parse_plain(text))


# --------------------------------------------------------------------------- plain progress


@dataclass
class PlainVertex:
    """One `#N` of buildx's plain output: its name, how it ended, what it printed."""

    number: int
    name: str
    cached: bool = False
    done_s: float | None = None
    error: str = ""
    logs: list[str] = field(default_factory=list)  # `#N 0.123 text`: the step's own output
    progress: list[str] = field(default_factory=list)  # `extracting sha256:...`, `resolve ...`

    @property
    def step(self) -> tuple[str, str, int, int, str] | None:
        """(platform or "", stage, i, n, instruction) for a Dockerfile step."""
        m = _PLAIN_STEP.match(self.name)
        if m is None:
            return None
        platform, stage, i, n, text = m.groups()
        return platform or "", stage, int(i), int(n), text

    @property
    def executed(self) -> bool:
        """Ran the instruction: printed output of its own (a cache restore prints only
        `extracting` progress, and buildx may still end it with DONE)."""
        return bool(self.logs) or (not self.cached and not self.progress and not self.error)


_PLAIN_LINE = re.compile(r"#(\d+) (.*)")
_PLAIN_LOG = re.compile(r"\d+\.\d+ (.*)")
_PLAIN_DONE = re.compile(r"DONE (\d+(?:\.\d+)?)s")
_PLAIN_STEP = re.compile(r"\[(?:(\S+/\S+) )?(\S+) (\d+)/(\d+)\] (.*)", re.S)


def parse_plain(text: str) -> dict[int, PlainVertex]:
    vertices: dict[int, PlainVertex] = {}
    for line in text.splitlines():
        m = _PLAIN_LINE.fullmatch(line.rstrip())
        if m is None:
            continue
        number, rest = int(m.group(1)), m.group(2)
        vertex = vertices.get(number)
        if vertex is None:
            vertices[number] = PlainVertex(number, rest)
            continue
        if rest == vertex.name:  # buildx repeats the name when a vertex shows up again
            continue
        if rest == "CACHED":
            vertex.cached = True
        elif done := _PLAIN_DONE.fullmatch(rest):
            vertex.done_s = float(done.group(1))
        elif rest.startswith(("ERROR", "CANCELED")):
            vertex.error = rest
        elif log := _PLAIN_LOG.fullmatch(rest):
            vertex.logs.append(log.group(1))
        else:
            vertex.progress.append(rest)
    return vertices


def plain_steps(vertices: Mapping[int, PlainVertex], stage: str) -> list[PlainVertex]:
    return [v for v in vertices.values() if (s := v.step) and s[1] == stage]


# --------------------------------------------------------------------------- the registry


def _registry_get(url: str, accept: str = "") -> Any:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def cache_manifest(ref: str) -> dict[str, Any] | None:
    """The manifest a registry cache ref points at, or None when there is none."""
    name, _, tag = ref.rpartition(":")
    host, _, repo = name.partition("/")
    try:
        manifest: dict[str, Any] = _registry_get(
            f"http://{host}/v2/{repo}/manifests/{tag}", accept=_MANIFEST_TYPES
        )
    except OSError:
        return None
    return manifest


def cache_records(ref: str) -> int | None:
    """How many records the BuildKit cache at `ref` holds (its cache config's `records`), or
    None when there is no single-manifest cache there."""
    manifest = cache_manifest(ref)
    if manifest is None or manifest.get("config", {}).get("mediaType") != CACHE_CONFIG:
        return None
    name = ref.rpartition(":")[0]
    host, _, repo = name.partition("/")
    config = _registry_get(f"http://{host}/v2/{repo}/blobs/{manifest['config']['digest']}")
    return len(config.get("records", []))


# --------------------------------------------------------------------------- the scenario

COLD_ATTEMPTS = 3


class Scenario:
    """The sequence of the issue on one project and one image, each build done once, when first
    asked for: cold builds, a source-only change on fresh builders (rawjson through mab, then
    plain), a lockfile change; and the same with one shared ref for both platforms."""

    def __init__(self, workdir: Path, image: str, platforms: Sequence[str]) -> None:
        self.image = image
        self.platforms = tuple(platforms)
        salt = uuid.uuid4().hex
        self.original = copy_project(workdir / "original", salt)
        self.specs = ci_cache_specs(self.original, image, self.platforms)
        self.source_changed = workdir / "source-changed"
        shutil.copytree(self.original, self.source_changed)
        change_source(self.source_changed, f"source change {salt}")
        self.lock_changed = workdir / "lock-changed"
        shutil.copytree(self.source_changed, self.lock_changed)
        change_lockfile(self.lock_changed, salt)
        self.shared = shared_specs(image)
        self.base = private_base(image, salt)
        self._done: dict[str, Any] = {}
        self.cold_records: dict[str, int | None] = {}
        self.cold_verdicts: list[tuple[str, int | None, int, str | None]] = []

    def _once(self, name: str, make: Any) -> Any:
        if name not in self._done:
            self._done[name] = make()
        return self._done[name]

    def _tag(self, what: str, platform: str) -> str:
        return f"{self.image}:{what}-{platform.replace('/', '-')}"

    def _per_platform(self, what: str, project: Path) -> dict[str, MabRun]:
        """One job per platform, each on a fresh runner, as the native strategy runs them."""
        runs = {}
        for p in self.platforms:
            prune()
            runs[p] = mab_build(project, [p], self.specs[p], self._tag(what, p), base=self.base)
        return runs

    def cold(self) -> dict[str, MabRun]:
        """Each platform's cold job. When BuildKit writes a cache with fewer records than the
        build has steps (seen when another build pruned the shared engine during the export),
        mab must say so (`cache_export` status `incomplete` or `missing`, checked here against
        the registry's own count), and the job runs again, as a CI re-run would."""

        def run() -> dict[str, MabRun]:
            runs = {}
            for p in self.platforms:
                for _attempt in range(COLD_ATTEMPTS):
                    prune()
                    found = mab_build(
                        self.original, [p], self.specs[p], self._tag("cold", p), base=self.base
                    )
                    runs[p] = found
                    records = cache_records(self.specs[p].ref)
                    self.cold_records[p] = records
                    steps = found.platform(p)["steps"] if found.exit_code == 0 else 0
                    verdict = found.summary.get("cache_export", {}).get(p, {}).get("status")
                    self.cold_verdicts.append((p, records, steps, verdict))
                    if records is not None and records >= steps:
                        break
            return runs

        return dict(self._once("cold", run))

    def incomplete_cold_caches(self) -> dict[str, int | None]:
        """Platforms whose last cold build still exported a cache with fewer records than the
        build has instructions (after `COLD_ATTEMPTS` tries)."""
        cold = self.cold()
        return {
            p: n
            for p, n in self.cold_records.items()
            if n is None or n < cold[p].platform(p)["steps"]
        }

    def undetected_cold_caches(self) -> list[tuple[str, int | None, int, str | None]]:
        """Cold exports whose verdict from mab disagrees with the registry's record count."""
        self.cold()
        wrong = []
        for platform, records, steps, verdict in self.cold_verdicts:
            short = records is None or records < steps
            if short != (verdict in ("incomplete", "missing")) or (
                not short and verdict != "verified"
            ):
                wrong.append((platform, records, steps, verdict))
        return wrong

    def warm(self) -> dict[str, MabRun]:
        self.warm_plain()  # first: it reads the caches the cold builds wrote, and writes none
        return dict(self._once("warm", lambda: self._per_platform("warm", self.source_changed)))

    def warm_plain(self) -> dict[str, PlainRun]:
        """The warm builds with `--progress=plain`, each on a pruned builder, reading the same
        caches as `warm` does (they are made just before it, and export nothing)."""
        self.cold()

        def run() -> dict[str, PlainRun]:
            out = {}
            for p in self.platforms:
                prune()
                out[p] = plain_build(
                    self.source_changed,
                    [p],
                    self.specs[p],
                    self._tag("w", p),
                    export=False,
                    base=self.base,
                )
            return out

        return dict(self._once("warm_plain", run))

    def lock(self) -> dict[str, MabRun]:
        self.warm()
        return dict(self._once("lock", lambda: self._per_platform("lock", self.lock_changed)))

    def _shared(self, what: str, project: Path) -> MabRun:
        prune()
        tag = f"{self.image}:shared-{what}"
        return mab_build(project, self.platforms, self.shared, tag, base=self.base)

    def shared_cold(self) -> MabRun:
        run: MabRun = self._once("shared_cold", lambda: self._shared("cold", self.original))
        return run

    def shared_warm(self) -> MabRun:
        self.shared_cold()
        run: MabRun = self._once("shared_warm", lambda: self._shared("warm", self.source_changed))
        return run

    def shared_lock(self) -> MabRun:
        self.shared_warm()
        run: MabRun = self._once("shared_lock", lambda: self._shared("lock", self.lock_changed))
        return run


# --------------------------------------------------------------------------- hit tables


def deps_cached(run: MabRun, platform: str) -> str:
    """`2/2`: the dependency-stage steps `run` took from the cache for `platform`."""
    steps = run.steps(DEPS_STAGE, platform)
    return f"{sum(s['state'] == 'cached' for s in steps)}/{len(steps)}"


def hit_rows(label: str, runs: Mapping[str, MabRun]) -> list[tuple[str, ...]]:
    """One row per platform: steps, cached, executed, hit ratio, dependency steps cached."""
    rows = []
    for platform, run in runs.items():
        numbers = run.platform(platform)
        rows.append(
            (
                label,
                platform,
                str(numbers["steps"]),
                str(numbers["cached"]),
                str(numbers["executed"]),
                f"{numbers['hit_ratio'] * 100:.0f}%",
                deps_cached(run, platform),
                run.outcome,
            )
        )
    return rows


HIT_HEADER = ("CACHE", "PLATFORM", "STEPS", "CACHED", "EXECUTED", "HIT", "DEPS CACHED", "BUILD")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table, first column left-aligned, the others right-aligned."""
    every = [tuple(header), *[tuple(r) for r in rows]]
    widths = [max(len(r[i]) for r in every) for i in range(len(header))]
    lines = []
    for row in every:
        cells = [row[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
