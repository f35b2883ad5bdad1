"""The corpus scorecard: does `mab init-ci` pick the images a repository really ships?

A developer's tool, not part of `.ci/run`: it works on snapshots of public repositories that you
bring first (the session's `fetch` tool puts each one under `/work/.mirror/<owner>+<name>/repo`).
`benchmarks/corpus.yml` names the repositories and the images each one publishes (Dockerfile +
context, confirmed by hand from the maintainers' own files, with the file:line it came from);
never their files.

For each repository, in scratch folders outside this repository:
1. a clone with its CI: the images its own workflows/bake/scripts build are extracted
   (`corpus_extract.py`, which does not use mab's code) and shown beside the expected ones;
   `mab init-ci --dry-run` there is the "with CI" pass;
2. a clone with its CI removed (`.github/workflows`, `.gitlab-ci.yml`, committed): the
   "without CI" pass, then `mab init-ci --github --gitlab` writes for real;
3. a second such clone in a folder of another name, written the same way: the written files must
   be byte-identical and `mab init-ci --check` must exit 0 in both;
4. the validators on the written files: check-jsonschema (vendored GitHub and GitLab schemas),
   actionlint, zizmor --offline (medium and above), gitlab-ci-local --list.

    python3 benchmarks/corpus_images.py [--mirrors /work/.mirror] [--scratch DIR]
        [--only owner/name ...] [--holdouts | --all] [--extract] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_extract import Found, extract, norm

HERE = Path(__file__).resolve().parent
DEV_OR_TEST = re.compile(
    r"(^|/)(\.devcontainer|\.codesandbox|tests?|e2e|e2e-tests|cypress|playwright|testing|"
    r"fixtures?|testdata)(/|$)|(^|/)[^/]*(\.dev|-dev|\.test|\.ci|\.debug|-tilt)$|"
    r"(^|/)dev\.[^/]*$",
    re.IGNORECASE,
)
Image = tuple[str, str, str]  # dockerfile, context, target
EXPLAIN = False  # read mab's images from `init-ci --explain` (set in main when mab has it)


@dataclass
class Outcome:
    repo: str
    holdout: bool
    expected: set[Image]
    expected_without_ci: set[Image] | None
    extracted: list[Found] = field(default_factory=list)
    without_ci: set[Image] | None = None
    with_ci: set[Image] | None = None
    names: list[str] = field(default_factory=list)
    dev_or_test: list[str] = field(default_factory=list)
    stable: bool | None = None
    validators: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def match(self, got: set[Image] | None, without_ci: bool = False) -> bool:
        expected = self.expected
        if without_ci and self.expected_without_ci is not None:
            expected = self.expected_without_ci
        return got is not None and got == expected


def last_stage(dockerfile: Path) -> str:
    """The name of a Dockerfile's last stage (what a build without a target builds), or ''."""
    try:
        text = dockerfile.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    stages = re.findall(r"^\s*FROM\s.*?\s+AS\s+(\S+)\s*$|^\s*(FROM)\s", text, re.I | re.M)
    return stages[-1][0] if stages else ""


def plain_targets(images: set[Image] | None, root: Path) -> set[Image] | None:
    """Images whose target names the Dockerfile's last stage, without it: the same build."""
    if images is None:
        return None
    return {(d, c, "" if t and t == last_stage(root / d) else t) for d, c, t in images}


def run(argv: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", f"timed out after {timeout}s")


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    ident = ["-c", "user.email=corpus@example.com", "-c", "user.name=corpus"]
    return run(["git", *ident, *args], cwd)


def clone(mirror: Path, dest: Path, repo: str, strip_ci: bool) -> None:
    """A clone as a user has it: origin on GitHub, origin/HEAD set, tags; CI removed if asked."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    result = git(dest.parent, "clone", "-q", "--no-checkout", str(mirror), str(dest))
    if result.returncode != 0:
        raise RuntimeError(f"clone failed: {result.stderr.strip()[-300:]}")
    git(dest, "remote", "set-url", "origin", f"https://github.com/{repo}.git")
    git(dest, "read-tree", "HEAD")
    git(dest, "checkout-index", "-a", "-f")  # snapshots lack files of 4 MiB and more:
    if git(dest, "status", "--porcelain").stdout.strip():  # commit them as deleted
        git(dest, "add", "-A")
        git(dest, "commit", "-qm", "corpus: the snapshot's missing large files")
    if strip_ci:
        for rel in (".github/workflows", ".gitlab-ci.yml"):
            target = dest / rel
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        git(dest, "add", "-A")
        git(dest, "commit", "-qm", "corpus: without its CI", "--allow-empty")


def mab_images(diff: str) -> tuple[set[Image], list[str]] | None:
    """The images of the GitHub workflow in a `--dry-run` diff (its build matrix)."""
    sections = re.split(r"^\+\+\+ b/", diff, flags=re.MULTILINE)
    for section in sections[1:]:
        name, _, body = section.partition("\n")
        if not name.startswith(".github/workflows/"):
            continue
        text = "\n".join(line[1:] for line in body.splitlines() if line.startswith(("+", " ")))
        data = YAML(typ="safe").load(text)
        for job in (data.get("jobs") or {}).values():
            matrix = ((job or {}).get("strategy") or {}).get("matrix") or {}
            rows = matrix.get("image")
            if isinstance(rows, list) and rows and "context" in rows[0]:
                images = {
                    (
                        norm(str(r.get("file") or f"{r['context']}/Dockerfile")),
                        norm(str(r["context"])),
                        str(r.get("target") or ""),
                    )
                    for r in rows
                }
                return images, [str(r.get("name")) for r in rows]
    return None


def explained(text: str) -> tuple[set[Image], list[str]]:
    """The images of `mab init-ci --explain`: blocks of `  field  value  <- evidence` rows."""
    found: set[Image] = set()
    names: list[str] = []
    fields: dict[str, str] = {}

    def close() -> None:
        if "dockerfile" in fields:
            context = norm(fields.get("context", "."))
            found.add((norm(fields["dockerfile"]), context, fields.get("target", "")))
        fields.clear()

    for line in text.splitlines():
        if line.startswith("left out"):
            break
        if line and not line.startswith(" ") and "  (" in line:
            close()
            names.append(line.split("  (", 1)[0])
            continue
        row = re.match(r"^  ([a-z][a-z-]*)\s+(.*?)\s+<- ", line)
        if row:
            fields.setdefault(row.group(1), row.group(2).strip())
    close()
    return found, names


def has_explain(mab: list[str]) -> bool:
    return "--explain" in run([*mab, "init-ci", "--help"], Path.cwd()).stdout


def dry_run(mab: list[str], root: Path) -> tuple[set[Image] | None, list[str], str]:
    """mab's images: from `--explain` where this mab has it, else the dry-run's workflow."""
    if EXPLAIN:
        result = run([*mab, "init-ci", "--explain", "."], root)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["?"])[-1]
            return None, [], f"exit {result.returncode}: {last[:160]}"
        images, names = explained(result.stdout)
        return images, names, ""
    result = run([*mab, "init-ci", "--dry-run", "."], root)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["?"])[-1]
        return None, [], f"exit {result.returncode}: {last[:160]}"
    parsed = mab_images(result.stdout)
    if parsed is None:
        return set(), [], "no image in the workflow"
    return parsed[0], parsed[1], ""


def written(root: Path) -> dict[str, bytes]:
    status = git(root, "status", "--porcelain", "--untracked-files=all").stdout
    files = sorted(line[3:] for line in status.splitlines())
    return {rel: (root / rel).read_bytes() for rel in files if (root / rel).is_file()}


def validate(root: Path) -> list[str]:
    failures = []
    workflows = sorted(str(p) for p in (root / ".github/workflows").glob("*.yml"))
    checks: list[tuple[str, list[str], tuple[int, ...]]] = []
    if workflows:
        checks += [
            ("schema:github", ["check-jsonschema", "--builtin-schema", "vendor.github-workflows",
                               *workflows], (0,)),
            ("actionlint", ["actionlint", "-no-color", *workflows], (0,)),
            ("zizmor", ["zizmor", "--offline", "--min-severity", "medium", "--no-progress",
                        *workflows], (0,)),
        ]  # fmt: skip
    gitlab = [str(p) for p in (root / ".gitlab/ci").glob("*.yml")]
    if gitlab:
        checks += [
            ("schema:gitlab", ["check-jsonschema", "--builtin-schema", "vendor.gitlab-ci",
                               *gitlab], (0,)),
        ]  # fmt: skip
        if shutil.which("gitlab-ci-local"):
            checks.append(("gitlab-ci-local", ["gitlab-ci-local", "--list"], (0,)))
    for name, argv, ok in checks:
        tool = Path(sys.executable).with_name(argv[0])
        argv = [str(tool) if tool.exists() else argv[0], *argv[1:]]
        result = run(argv, root)
        if result.returncode not in ok:
            detail = (result.stdout + result.stderr).strip().splitlines()
            failures.append(f"{name}: {(detail or ['?'])[0][:140]}")
    return failures


def images(entry: dict[str, Any], key: str) -> set[Image] | None:
    if key not in entry:
        return None
    return {
        (norm(i["dockerfile"]), norm(i.get("context", ".")), str(i.get("target", "")))
        for i in entry[key] or []
    }


def score(entry: dict[str, Any], mirrors: Path, scratch: Path, mab: list[str]) -> Outcome:
    repo = entry["repo"]
    expected = images(entry, "images") or set()
    out = Outcome(repo, bool(entry.get("holdout")), expected, images(entry, "without_ci"))
    mirror = mirrors / repo.replace("/", "+") / "repo"
    if not mirror.is_dir():
        out.reasons.append(f"no snapshot at {mirror} (fetch it first)")
        return out
    base = scratch / repo.replace("/", "+")
    short = repo.split("/")[1]
    try:
        clone(mirror, base / "ci" / short, repo, strip_ci=False)
        out.extracted = extract(base / "ci" / short)
        out.with_ci, _, why = dry_run(mab, base / "ci" / short)
        out.with_ci = plain_targets(out.with_ci, base / "ci" / short)
        out.expected = plain_targets(out.expected, base / "ci" / short) or set()
        if why:
            out.reasons.append(f"with CI: {why}")
        for side, folder in (("a", short), ("b", f"{short}-second-clone")):
            clone(mirror, base / side / folder, repo, strip_ci=True)
        first, second = base / "a" / short, base / "b" / f"{short}-second-clone"
        out.without_ci, out.names, why = dry_run(mab, first)
        out.without_ci = plain_targets(out.without_ci, first)
        if why:
            out.reasons.append(f"without CI: {why}")
        out.stable = write_twice(mab, first, second, out.reasons)
        out.validators = validate(first) if out.stable is not None else []
    except (RuntimeError, OSError) as error:
        out.reasons.append(str(error))
    for got in (out.without_ci or set()) | (out.with_ci or set()):
        listed = (got[0], got[1]) in {(d, c) for d, c, _ in expected}
        never = DEV_OR_TEST.search(got[0]) or got[0] in entry.get("never", [])
        if not listed and never and got[0] not in out.dev_or_test:
            out.dev_or_test.append(got[0])
    return out


def write_twice(mab: list[str], first: Path, second: Path, reasons: list[str]) -> bool | None:
    outputs = []
    for root in (first, second):
        result = run([*mab, "init-ci", "--github", "--gitlab", "."], root)
        if result.returncode != 0:
            reasons.append(f"write: exit {result.returncode}: {result.stderr.strip()[-160:]}")
            return None
        check = run([*mab, "init-ci", "--check", "."], root)
        if check.returncode != 0:
            reasons.append(f"--check right after writing: exit {check.returncode}")
            return False
        outputs.append(written(root))
    if outputs[0] != outputs[1]:
        differ = sorted(k for k in outputs[0].keys() | outputs[1].keys()
                        if outputs[0].get(k) != outputs[1].get(k))  # fmt: skip
        reasons.append(f"two clones differ: {', '.join(differ)}")
        return False
    return True


def show(images: set[Image] | None) -> str:
    if images is None:
        return "-"
    parts = [f"{d}@{c}" + (f"#{t}" if t else "") for d, c, t in sorted(images)]
    return " ".join(parts) or "(none)"


def report(outcomes: list[Outcome], verbose: bool) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for holdout in (False, True):
        group = [o for o in outcomes if o.holdout == holdout]
        if not group:
            continue
        title = "HOLDOUTS" if holdout else "CORPUS"
        print(f"\n== {title} ({len(group)} repositories)")
        print(f"{'repository':38} {'no CI':6} {'CI':6} {'stable':6} {'valid':5} dev/test")
        for o in group:
            row = [
                "ok" if o.match(o.without_ci, True) else "MISS",
                "ok" if o.match(o.with_ci) else "MISS",
                {True: "ok", False: "DIFF", None: "-"}[o.stable],
                "ok" if not o.validators else "FAIL",
                ",".join(o.dev_or_test) or "-",
            ]
            print(f"{o.repo:38} {row[0]:6} {row[1]:6} {row[2]:6} {row[3]:5} {row[4]}")
            if verbose or not (o.match(o.without_ci, True) and o.match(o.with_ci)) or o.reasons:
                print(f"    expected:    {show(o.expected)}")
                if not o.match(o.without_ci, True):
                    print(f"    without CI:  {show(o.without_ci)}")
                if not o.match(o.with_ci):
                    print(f"    with CI:     {show(o.with_ci)}")
                for reason in [*o.reasons, *o.validators]:
                    print(f"    - {reason}")
        n = len(group)
        key = "holdouts" if holdout else "corpus"
        figures[key] = {
            "repositories": n,
            "match_without_ci": sum(o.match(o.without_ci, True) for o in group),
            "match_with_ci": sum(o.match(o.with_ci) for o in group),
            "dev_or_test_built": sum(bool(o.dev_or_test) for o in group),
            "check_stable": sum(o.stable is True for o in group),
            "validator_failures": sum(bool(o.validators) for o in group),
        }
        f = figures[key]
        print(
            f"-- {title}: exact image match without CI {f['match_without_ci']}/{n} "
            f"({100 * f['match_without_ci'] / n:.0f}%, target >= 95%), with CI "
            f"{f['match_with_ci']}/{n} ({100 * f['match_with_ci'] / n:.0f}%, target 100%); "
            f"dev/test images built: {f['dev_or_test_built']} (target 0); --check-stable across "
            f"two clones: {f['check_stable']}/{n}; validator failures: {f['validator_failures']}"
        )
    return figures


def show_extracted(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        print(f"\n## {o.repo}  expected: {show(o.expected)}")
        for f in dict.fromkeys(o.extracted):
            push = " push" if f.push else ""
            target = f"#{f.target}" if f.target else ""
            print(f"   {f.how:13} {f.dockerfile}@{f.context}{target}{push}   ({f.source})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus.yml")
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--scratch", type=Path, default=Path("/work/scratch/corpus"))
    parser.add_argument("--only", nargs="*", default=[])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--holdouts", action="store_true", help="score the holdouts only")
    which.add_argument("--all", action="store_true", help="the corpus and the holdouts")
    parser.add_argument("--extract", action="store_true", help="print what the extractor found")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--no-explain", action="store_true", help="read the dry-run's workflow")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the figures and rows to this file")
    parser.add_argument("--mab", default=f"{sys.executable} -m mab", help="how to run mab")
    args = parser.parse_args()
    if HERE.parent in args.scratch.resolve().parents:
        parser.error("--scratch must be outside this repository")
    corpus = YAML(typ="safe").load(args.corpus.read_text(encoding="utf-8"))
    entries = [*corpus["repositories"], *corpus.get("holdouts", [])]
    if args.only:
        entries = [e for e in entries if e["repo"] in args.only]
    elif args.holdouts:
        entries = [e for e in entries if e.get("holdout")]
    elif not args.all:
        entries = [e for e in entries if not e.get("holdout")]
    mab = args.mab.split()
    global EXPLAIN
    EXPLAIN = has_explain(mab) and not args.no_explain
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda e: score(e, args.mirrors, args.scratch, mab), entries))
    if args.extract:
        show_extracted(outcomes)
    figures = report(outcomes, args.verbose)
    if args.json:
        rows = [
            {"repo": o.repo, "holdout": o.holdout, "expected": show(o.expected),
             "without_ci": show(o.without_ci), "with_ci": show(o.with_ci),
             "stable": o.stable, "dev_or_test": o.dev_or_test, "reasons": o.reasons,
             "validators": o.validators}
            for o in outcomes
        ]  # fmt: skip
        args.json.write_text(json.dumps({"figures": figures, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
