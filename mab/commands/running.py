"""What `mab build`, `mab build --ci` and `mab replay` share: where the project is, which image
CI caches a build under, and how output is shown (the TUI, reached through its typed entry
point, or plain lines). The run itself is `mab.run`'s."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mab.config.types import CONFIG_FILE
from mab.errors import UserError

if TYPE_CHECKING:  # imported where a build runs: `mab replay` needs none of them
    from mab.config.settings import Settings
    from mab.engine.buildcmd import BuildRequest
    from mab.engine.checks import Preflight
    from mab.run.entry import TuiEntry
    from mab.run.options import HistoryOptions

OutputMode = Literal["tui", "plain", "json"]
_REMOTE_CONTEXT = ("http://", "https://", "git@", "git://", "ssh://", "docker-image://")


def output_mode(as_json: bool, no_tui: bool) -> OutputMode:
    if as_json:
        return "json"
    return "plain" if no_tui else "tui"


def tui_entry() -> TuiEntry | None:
    """`mab.tui.ENTRY`, imported only now (the core never imports the TUI at import time);
    None when the TUI or textual is not installed, and mab falls back to plain lines."""
    from mab.run.entry import TuiEntry

    try:
        module = importlib.import_module("mab.tui")
    except ImportError:
        return None
    entry = getattr(module, "ENTRY", None)
    return entry if isinstance(entry, TuiEntry) else None


def interactive() -> bool:
    """A terminal on both ends: only then may a full-screen UI take over."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def find_root(start: Path) -> Path:
    """The nearest directory holding `.mab.yml`, else the repository root, else `start`."""
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file() or (folder / ".git").exists():
            return folder
    return start


def load_settings(root: Path) -> Settings:
    from mab.config.file import load_settings as load

    return load(root)


def is_remote(context: str) -> bool:
    return context.startswith(_REMOTE_CONTEXT)


def ci_image(root: Path, req: BuildRequest, settings: Settings) -> str | None:
    """The image whose per-platform caches CI uses for this build
    (`mab.registry.cacherefs.image_ref` of the detected image with the same context and
    Dockerfile), or None."""
    from mab.commands.image_settings import image_requests
    from mab.detection.detect import detect
    from mab.errors import MabError
    from mab.registry.cacherefs import FALLBACK_IMAGE, image_ref

    if req.context == "-" or is_remote(req.context) or req.file == "-":
        return None
    context = Path(req.context).resolve()
    dockerfile = Path(req.file).resolve() if req.file else context / "Dockerfile"
    try:
        project = detect(root, image_requests(root, settings))
        wanted = (context.relative_to(root.resolve()), dockerfile.relative_to(root.resolve()))
    except (MabError, ValueError, OSError):  # outside the repository, or not detectable
        return None
    for image in project.images:
        if (Path(image.context), Path(image.dockerfile)) == wanted:
            ref = image_ref(project, settings, image)
            return None if ref.startswith(FALLBACK_IMAGE) else ref  # no real registry known
    return None


def check_context(req: BuildRequest) -> None:
    """A local context must be a directory, and its Dockerfile must exist."""
    if req.context == "-" or is_remote(req.context):
        return
    context = Path(req.context)
    if not context.is_dir():
        what = "is a file, not a folder" if context.exists() else "no such directory"
        raise UserError(
            f"{req.context}: {what} (the build context)",
            hint="give the folder to build, e.g. `mab build .`; a Dockerfile goes in -f",
        )
    if req.file is not None:
        if req.file != "-" and not Path(req.file).is_file():
            what = (
                "is a folder, not a Dockerfile" if Path(req.file).is_dir() else "no such Dockerfile"
            )
            raise UserError(f"{req.file}: {what}", hint="check the -f/--file path")
    elif not (context / "Dockerfile").is_file():
        raise UserError(
            f"{context / 'Dockerfile'}: no such file",
            hint="give the Dockerfile with -f PATH, or the right context directory",
        )


def history_options(
    image: str | None, checked: Preflight | None, path: str | None
) -> HistoryOptions:
    """Where the build is recorded (`--history PATH`, else `$MAB_HISTORY`, else the default)."""
    from mab.run.options import HistoryOptions

    info = checked.builder if checked is not None else None
    return HistoryOptions(
        path=path,
        image=image,
        builder=info.name if info else "",
        driver=info.driver if info else "",
    )
