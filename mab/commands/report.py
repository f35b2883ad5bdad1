"""`mab report [BUILD|FILE] -o report.html`: a build as one self-contained HTML page.

BUILD is a build of the history (`mab history` lists them; default: the last one); FILE a
recorded stream (`mab build --record FILE`, or `-` for stdin). The page shows the summary, the
per-platform timeline, the steps with their cache state and why they missed, the cache-export
verdicts and the image's last builds as charts (for a FILE, those of `--image`).
"""

from __future__ import annotations

from pathlib import Path

import click

from mab.commands.history import HISTORY_OPTION, explain_build, opened
from mab.commands.outputs import check_output, write_output
from mab.commands.replay import read_recording, replay_platform
from mab.errors import UserError
from mab.history.store import BuildRow, HistoryStore, default_path
from mab.progress.replay import model_of_recording
from mab.progress.summary import Summary
from mab.report.data import Report, report_of_model, report_of_record
from mab.report.html import render

__all__ = ["recording_report", "report_command"]

_FILE_LIKE = (".rawjson", ".json", ".txt", ".log")


def _rows(store: HistoryStore | None, image: str | None, last: int) -> list[BuildRow]:
    if store is None or not image or last <= 0:
        return []
    return store.builds(image=image, limit=last)


def recording_report(
    name: str, data: bytes, platform: str | None, rows: list[BuildRow] | None = None
) -> Report:
    model = model_of_recording(name, data, replay_platform(platform))
    summary = Summary.from_model(model)
    return report_of_model(Path(name).name, f"recording {name}", model, summary, rows or [])


def _history_report(key: str, history: str | None, last: int) -> Report:
    path = default_path(history)
    if path is not None and not path.exists():
        raise UserError(
            f"no build history at {path} yet",
            hint="`mab build` records every build; or name a recording: `mab report FILE`",
        )
    with opened(history) as store:
        row, record, whys = explain_build(store, key)
        return report_of_record(row, record, whys, _rows(store, record.image, last))


def _is_file(source: str) -> bool:
    if source == "-" or Path(source).exists():
        return True
    if "/" in source or source.endswith(_FILE_LIKE):
        raise UserError(
            f"{source}: no such file",
            hint="name a recording (`mab build --record FILE`) or a build id from `mab history`",
        )
    return False


@click.command("report")
@click.argument("source", metavar="[BUILD|FILE]", default="last")
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    default="report.html",
    show_default=True,
    help="Where to write the page; - for stdout.",
)
@HISTORY_OPTION
@click.option(
    "--last",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Builds of the image the charts show (0: no charts).",
)
@click.option("--image", help="For a FILE: the image whose history the charts show.")
@click.option(
    "--platform",
    metavar="PLATFORM",
    help="The platform of a single-platform stream that names none.",
)
def report_command(
    source: str,
    output: str,
    history: str | None,
    last: int,
    image: str | None,
    platform: str | None,
) -> int:
    """Write a build's HTML report: a history BUILD (default: the last) or a recorded FILE."""
    target = None if output == "-" else check_output(output, "-o")
    if _is_file(source):
        name, data = read_recording(source)
        rows: list[BuildRow] = []
        path = default_path(history)
        if image and last and path is not None and path.exists():
            with opened(history) as store:
                rows = _rows(store, image, last)
        report = recording_report(name, data, platform, rows)
    else:
        report = _history_report(source, history, last)
    page = render(report)
    if target is None:
        click.echo(page, nl=False)
    else:
        write_output(target, page, "report")
        click.echo(f"mab: wrote {target} ({len(page.encode()) // 1024 + 1} KiB)", err=True)
    return 0
