"""`mab history` (ls/list, show, diff, rm, prune, import) and `mab why`: the build history.

The database is `mab.history.store`'s (`--history PATH`, `$MAB_HISTORY`, else the platformdirs
state directory); every subcommand has `--json`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from mab.errors import UserError
from mab.history.record import BuildRecord, StepRecord
from mab.history.store import BuildRow, HistoryStore, default_path
from mab.history.why import Why, comparable, explain, first_misses, sources_changed, unfinished

HISTORY_OPTION = click.option(
    "--history", "history", metavar="PATH", help="The history database (or $MAB_HISTORY)."
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


@contextmanager
def opened(history: str | None, *, create: bool = False) -> Iterator[HistoryStore]:
    path = default_path(history)
    if path is None:
        raise UserError("build history is off (MAB_HISTORY=off)", hint="unset MAB_HISTORY")
    store = HistoryStore.open(path, create=create)
    try:
        yield store
    finally:
        store.close()


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def _percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:.0f}%"


def row_json(row: BuildRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "uid": row.uid,
        "started_at": row.started_at,
        "duration_s": round(row.duration_s, 2),
        "outcome": row.outcome,
        "image": row.image,
        "target": row.target,
        "source": row.source,
        "git_commit": row.git_commit,
        "git_branch": row.git_branch,
        "builder": row.builder,
        "platforms": {
            p.platform: {
                "steps": p.steps,
                "cached": p.cached,
                "hit_ratio": None if p.hit_ratio is None else round(p.hit_ratio, 3),
                "duration_s": round(p.duration_s, 2),
            }
            for p in row.platforms
        },
    }


def list_table(rows: list[BuildRow]) -> str:
    lines = []
    for row in rows:
        per = "  ".join(
            f"{p.platform} {_percent(p.hit_ratio)} {p.duration_s:.1f}s" for p in row.platforms
        )
        where = f"{row.git_branch}@{row.git_commit[:7]}" if row.git_commit else "-"
        mark = " (registry)" if row.source == "registry" else ""
        lines.append(
            f"{row.id:>6}  {when(row.started_at)}  {row.outcome:<9}  {row.duration_s:6.1f}s  "
            f"{where:<20}  {row.image}{mark}\n        {per}"
        )
    return "\n".join(lines)


def list_options(command: Callable[..., int]) -> Callable[..., int]:
    """The options of a listing: `mab history` alone and `mab history ls` take the same."""
    for option in reversed(
        (
            HISTORY_OPTION,
            JSON_OPTION,
            click.option("--image", help="Only builds of this image."),
            click.option("--platform", help="Only builds for this platform."),
            click.option("--limit", "-n", type=int, default=20, show_default=True, help="0: all."),
        )
    ):
        command = option(command)
    return command


@click.group("history", invoke_without_command=True)
@list_options
@click.pass_context
def history_group(
    ctx: click.Context,
    history: str | None,
    as_json: bool,
    image: str | None,
    platform: str | None,
    limit: int,
) -> int:
    """List recent builds with each platform's hit ratio and duration."""
    ctx.ensure_object(dict)
    ctx.obj["history"] = history
    if ctx.invoked_subcommand is not None:
        return 0
    return _list(history, as_json, image, platform, limit)


@history_group.command("ls")
@list_options
@click.pass_context
def ls_command(
    ctx: click.Context,
    history: str | None,
    as_json: bool,
    image: str | None,
    platform: str | None,
    limit: int,
) -> int:
    """List recent builds (the same as `mab history` alone)."""
    return _list(_store_path(ctx, history), as_json, image, platform, limit)


history_group.add_command(ls_command, "list")


def _list(
    history: str | None, as_json: bool, image: str | None, platform: str | None, limit: int
) -> int:
    with opened(history) as store:
        rows = store.builds(image=image, platform=platform, limit=limit or None)
    if as_json:
        _emit({"builds": [row_json(r) for r in rows]})
    elif rows:
        click.echo(list_table(rows))
    else:
        click.echo("no builds recorded yet", err=True)
    return 0


def _store_path(ctx: click.Context, history: str | None) -> str | None:
    return history or (ctx.obj or {}).get("history")


@history_group.command("show")
@click.argument("build", default="last")
@HISTORY_OPTION
@JSON_OPTION
@click.pass_context
def show_command(ctx: click.Context, build: str, history: str | None, as_json: bool) -> int:
    """One build: what was asked, and every platform's steps (BUILD: id, uid or `last`, the
    default)."""
    with opened(_store_path(ctx, history)) as store:
        record = store.record(build)
        row = store.row(build)
    if as_json:
        _emit({"id": row.id, **record.to_json()})
        return 0
    click.echo(f"build {row.id} ({record.uid}), {record.outcome} in {record.duration_s:.1f}s")
    click.echo(f"  image {record.image}, target {record.target or '(last stage)'}")
    click.echo(f"  {when(record.started_at)}, {record.git_branch or '-'}@{record.git_commit[:12]}")
    click.echo(f"  builder {record.builder or '?'} ({record.driver or '?'})")
    for imp in record.imports:
        click.echo(f"  cache {imp.ref}: {imp.state}")
    for platform in record.platforms:
        click.echo(f"{platform}:")
        for step in record.platform_steps(platform):
            took = "" if step.duration_s is None else f" {step.duration_s:.1f}s"
            click.echo(f"  {step.state:<8}{took:>7}  {step.label}")
    return 0


def _diff_lines(a: BuildRecord, b: BuildRecord) -> list[dict[str, Any]]:
    """Per platform and step (`stage#index`, the same on every platform and in every build):
    what changed from A to B. Inputs count as changed upstream only when the step's own parts
    did not change and a step it builds on did."""
    out = []
    for platform in dict.fromkeys(a.platforms + b.platforms):
        old = {s.id: s for s in a.platform_steps(platform)}
        new = {s.id: s for s in b.platform_steps(platform)}
        for sid in dict.fromkeys([*old, *new]):
            x, y = old.get(sid), new.get(sid)
            changes = []
            if x is None or y is None:
                changes.append("only in " + ("B" if x is None else "A"))
            else:
                changes = _step_changes(x, y)
            if changes:
                shown = y or x
                label = shown.label if shown is not None else sid
                out.append({"platform": platform, "step": label, "changes": changes})
    return out


def _step_changes(x: StepRecord, y: StepRecord) -> list[str]:
    changes = []
    if " ".join(x.instruction.split()) != " ".join(y.instruction.split()):
        changes.append("instruction")
    if x.inputs and y.inputs:
        sources = sources_changed(y.inputs, x.inputs)
        if sources is not None:
            changes.append(f"sources: {sources.detail}")
        if x.inputs.args != y.inputs.args:
            changes.append("args")
        if x.inputs.own != y.inputs.own and not changes:
            changes.append("an ENV, USER or SHELL line before it")
    if x.state != y.state:
        changes.append(f"state {x.state} → {y.state}")
    return changes


@history_group.command("diff")
@click.argument("a")
@click.argument("b")
@HISTORY_OPTION
@JSON_OPTION
@click.pass_context
def diff_command(ctx: click.Context, a: str, b: str, history: str | None, as_json: bool) -> int:
    """What changed per step from build A to build B."""
    with opened(_store_path(ctx, history)) as store:
        first, second = store.record(a), store.record(b)
    lines = _diff_lines(first, second)
    if as_json:
        _emit({"a": first.uid, "b": second.uid, "steps": lines})
        return 0
    if not lines:
        click.echo("no step differs")
    for line in lines:
        click.echo(f"[{line['platform']}] {line['step']}: {', '.join(line['changes'])}")
    return 0


@history_group.command("rm")
@click.argument("builds", nargs=-1, required=True)
@HISTORY_OPTION
@click.pass_context
def rm_command(ctx: click.Context, builds: tuple[str, ...], history: str | None) -> int:
    """Remove builds from the history."""
    with opened(_store_path(ctx, history)) as store:
        for build in builds:
            row = store.row(build)
            store.remove(row.id)
            click.echo(f"removed build {row.id} ({row.uid})")
    return 0


@history_group.command("prune")
@click.option("--keep", type=click.IntRange(min=0), required=True, help="Builds to keep.")
@HISTORY_OPTION
@click.pass_context
def prune_command(ctx: click.Context, keep: int, history: str | None) -> int:
    """Keep only the newest KEEP builds."""
    with opened(_store_path(ctx, history)) as store:
        removed = store.prune(keep)
    click.echo(f"removed {removed} builds, kept the newest {keep}")
    return 0


@history_group.command("import")
@click.argument("file")
@HISTORY_OPTION
@click.option(
    "--platform",
    metavar="PLATFORM",
    help="The platform of a single-platform stream that names none (as `mab replay`).",
)
@click.pass_context
def import_command(ctx: click.Context, file: str, history: str | None, platform: str | None) -> int:
    """Store a recorded stream (`mab build --record FILE`) as a build (no fingerprints)."""
    from mab.commands.replay import read_recording, replay_platform
    from mab.history.capture import record_of_replay
    from mab.progress.replay import model_of_recording

    # A single-platform stream names no platform: the same default as `mab replay`, so its
    # steps are stored, not dropped.
    default = replay_platform(platform)
    name, data = read_recording(file)
    model = model_of_recording(name, data, default)
    record = record_of_replay(name, model, time.time())
    with opened(_store_path(ctx, history), create=True) as store:
        build_id = store.add(record)
    click.echo(f"imported {name} as build {build_id} ({len(record.steps)} steps)")
    return 0


# ------------------------------------------------------------------------------ mab why


def explain_build(
    store: HistoryStore, key: str
) -> tuple[BuildRow, BuildRecord, dict[str, dict[str, Why]]]:
    row, record = store.row(key), store.record(key)
    previous: dict[str, BuildRecord | None] = {}
    against = [u for u in record.against.split(",") if u]
    for platform in record.platforms:
        chosen = None
        for uid in against:
            if store.has(uid):
                candidate = store.record(uid)
                if comparable(record, candidate, platform):
                    chosen = candidate
        if chosen is None and not against:
            chosen = store.previous(record, platform)
        previous[platform] = chosen
    return row, record, explain(record, previous)


@click.command("why")
@click.argument("build", default="last")
@click.option("--platform", help="Only this platform.")
@click.option("--all", "show_all", is_flag=True, help="Every missed step, not just the first.")
@HISTORY_OPTION
@JSON_OPTION
def why_command(
    build: str, platform: str | None, show_all: bool, history: str | None, as_json: bool
) -> int:
    """Why BUILD's steps missed the cache (default: the last build), per platform."""
    with opened(history) as store:
        row, record, whys = explain_build(store, build)
    platforms = [p for p in record.platforms if platform in (None, p)]
    if platform is not None and not platforms:
        raise UserError(
            f"build {row.id} has no platform {platform}",
            hint=f"its platforms: {', '.join(record.platforms)}",
        )
    firsts = first_misses(record, whys)
    undone = {p: unfinished(record, p) for p in platforms}
    if as_json:
        _emit(
            {
                "build": row.id,
                "uid": record.uid,
                "outcome": record.outcome,
                "platforms": {
                    p: [
                        {"step": s.label, "state": s.state, **whys[p][s.id].to_json()}
                        for s in record.platform_steps(p)
                        if s.id in whys.get(p, {})
                    ]
                    for p in platforms
                },
                "unfinished": {p: [u.to_json() for u in undone[p]] for p in platforms},
            }
        )
        return 0
    click.echo(f"build {row.id} ({when(record.started_at)}, {record.image}): {record.outcome}")
    for p in platforms:
        first = firsts.get(p)
        for u in undone[p]:
            click.echo(f"  {p}: {u.step.label}")
            click.echo(f"      {u.text}")
        if first is None:
            if not undone[p] and record.outcome == "succeeded":
                click.echo(f"  {p}: every step came from the cache")
            elif not undone[p]:
                click.echo(f"  {p}: no step missed before the build {record.outcome}")
            continue
        shown = [(s, whys[p][s.id]) for s in record.platform_steps(p) if s.id in whys.get(p, {})]
        if not show_all:
            shown = [first]
        for step, why in shown:
            click.echo(f"  {p}: {step.label}")
            click.echo(f"      {why.text}")
        rest = len(whys.get(p, {})) - len(shown)
        if rest > 0:
            click.echo(f"      ({rest} more missed steps; --all lists them)")
    return 0
