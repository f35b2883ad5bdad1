"""`mab lint [PATH...]`: find what makes a Dockerfile cache-hostile, and fix it (`--fix`).

Exit codes like a linter: 0 clean, 1 findings (left after `--fix`), 2 usage or bad input.
Every file is read and fixed in memory first; only then are the changed files written, each
atomically, so an error leaves every file as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mab.config.types import CONFIG_FILE
from mab.errors import EXIT_CHECK_FAILED, UserError
from mab.files.plan import PlannedFile
from mab.lint.report import as_json, as_sarif, as_text, unified_diff
from mab.lint.rules import Finding
from mab.lint.run import Selection, fix, lint_text, parse_rules, read_dockerfile_text, targets

if TYPE_CHECKING:
    from mab.config.settings import Settings
    from mab.detection.project import ImageRequest


def _settings(root: Path) -> Settings | None:
    """`.mab.yml`, when there is one (reading YAML costs its imports: only then)."""
    if not (root / CONFIG_FILE).exists():
        return None
    from mab.config.file import load_config

    return load_config(root)


def _requests(root: Path, config: Settings | None) -> tuple[ImageRequest, ...]:
    """The images `.mab.yml` names, so a directory is linted as init-ci builds it."""
    if config is None or not config.images:
        return ()
    from mab.commands.image_settings import image_requests

    return image_requests(root, config)


def _selection(config: Settings | None, select: str | None, ignore: str | None) -> Selection:
    """`.mab.yml`'s `lint:` section (declared in mab/config/settings.py), overridden by
    --select / --ignore."""
    section = config.lint if config is not None else None
    selection = Selection()
    if section is not None and section.select is not None:
        selection = Selection(parse_rules(section.select, f"{CONFIG_FILE}: lint.select"))
    if section is not None and section.ignore is not None:
        ignored = parse_rules(section.ignore, f"{CONFIG_FILE}: lint.ignore")
        selection = Selection(selection.select, ignored)
    if select is not None:
        selection = Selection(parse_rules(select, "--select"), selection.ignore)
    if ignore is not None:
        selection = Selection(selection.select, parse_rules(ignore, "--ignore"))
    return selection


@click.command("lint")
@click.argument("paths", nargs=-1)
@click.option("--fix", "do_fix", is_flag=True, help="Rewrite the Dockerfiles; prints the diff.")
@click.option("--dry-run", is_flag=True, help="With --fix: print the diff, write nothing.")
@click.option("--json", "as_json_flag", is_flag=True, help="One JSON document on stdout.")
@click.option("--sarif", is_flag=True, help="SARIF 2.1.0 on stdout (GitHub code scanning).")
@click.option("--select", metavar="RULES", help="Only these rules (ids or names, comma-separated).")
@click.option("--ignore", metavar="RULES", help="Not these rules (ids or names, comma-separated).")
def lint_command(
    paths: tuple[str, ...],
    do_fix: bool,
    dry_run: bool,
    as_json_flag: bool,
    sarif: bool,
    select: str | None,
    ignore: str | None,
) -> int:
    """Find what makes Dockerfiles cache-hostile (PATH: Dockerfiles or directories; default .).

    \b
    MAB101 cache-mount-missing         MAB105 apt-update-alone
    MAB102 source-before-install       MAB106 context-lets-git-in
    MAB103 volatile-arg-early          MAB107 install-per-target-platform
    MAB104 add-url-without-checksum
    Silence one finding with a comment line above the instruction:
    `# mab: ignore[MAB101] reason`.
    """
    if as_json_flag and sarif:
        raise UserError("--json and --sarif cannot be combined", hint="pick one output format")
    roots = [Path(p) for p in paths if Path(p).is_dir()]
    root = roots[0] if roots else Path()
    config = _settings(root)
    selection = _selection(config, select, ignore)
    found = targets(paths, _requests(root, config))
    if not found:
        raise UserError("no Dockerfile found", hint="give a Dockerfile or a directory holding one")
    planned: list[PlannedFile] = []
    findings: list[Finding] = []
    fixed = 0
    for target in found:
        text = read_dockerfile_text(target.path)
        why = target.not_the_source(text)
        if (do_fix or dry_run) and why is not None:
            click.echo(f"mab: not edited: {why}", err=True)
        elif do_fix or dry_run:
            new, applied = fix(text, target, selection)
            fixed += len(applied)
            planned.append(PlannedFile(str(target.path), text, new))
            text = new
        findings.extend(lint_text(text, target, selection))
    diff = "".join(unified_diff(p.path, p.old or "", p.new) for p in planned if p.changed)
    if diff:
        click.echo(diff, nl=False, err=as_json_flag or sarif)
    changed = {plan.path: plan.new for plan in planned if plan.changed}
    if do_fix and not dry_run and changed:
        # All files or none, each through a temporary file and a rename (mab/files/writeset).
        from mab.files.writeset import check_writable, write_all

        check_writable(Path.cwd(), list(changed), confine=False)  # files named by the user
        write_all(Path.cwd(), changed)
        for path in changed:
            click.echo(f"fixed {path}", err=True)
    if sarif:
        click.echo(as_sarif(findings), nl=False)
    elif as_json_flag:
        click.echo(as_json(findings, fixed), nl=False)
    else:
        click.echo(as_text(findings, fixed), nl=False)
    return EXIT_CHECK_FAILED if findings else 0
