"""The `mab` command line. Thin: each subcommand lives in `mab/commands/` and returns an exit
code; every `MabError` becomes a message on stderr and its exit code, never a traceback.

Commands load lazily: `mab --version` and `mab --help` import no command at all, and `mab lint`
imports only `mab.commands.lint` (and what it needs), so a pre-commit hook does not pay for the
TUI, the registry client or Prometheus. A new command is one line in `COMMANDS` below: its name,
`module:attribute` of its click command, and the one-line help `mab --help` shows. Keep heavy
imports (textual, rich, httpx, prometheus_client, python_on_whales) out of module level on the
paths that do not use them; tests/test_startup.py walks those paths' imports.
"""

from __future__ import annotations

import errno
import importlib
import sys
from collections.abc import Sequence

import click

from mab import __version__
from mab.errors import EXIT_ENVIRONMENT, EXIT_INTERRUPTED, EXIT_USAGE, MabError, WriteError
from mab.terminal import guarded_output

# name: (module:attribute of the click command, the line `mab --help` shows for it)
COMMANDS: dict[str, tuple[str, str]] = {
    "init-ci": (
        "mab.commands.init_ci:init_ci_command",
        "write cache-aware GitHub Actions / GitLab CI pipelines",
    ),
    "build": (
        "mab.commands.build:build_command",
        "run docker buildx build, show each platform's steps and cache hits",
    ),
    "replay": ("mab.commands.replay:replay_command", "show a recorded build stream again"),
    "doctor": (
        "mab.commands.doctor:doctor_command",
        "check docker, buildx, the builder, emulators and the registry",
    ),
    "cache": (
        "mab.commands.cache:cache_group",
        "list, inspect and remove the registry layer caches",
    ),
    "history": (
        "mab.commands.history:history_group",
        "the builds recorded here: hit ratios, durations, steps, diffs",
    ),
    "why": (
        "mab.commands.history:why_command",
        "why a build's steps missed the cache, per platform",
    ),
    "report": (
        "mab.commands.report:report_command",
        "a build as one HTML page: timeline, steps, cache, history charts",
    ),
    "lint": (
        "mab.commands.lint:lint_command",
        "find and fix what makes a Dockerfile cache-hostile",
    ),
    "metrics": (
        "mab.commands.metrics:metrics_group",
        "Prometheus metrics of cache hits: serve the history, the dashboard",
    ),
    "verify": (
        "mab.commands.verify:verify_command",
        "check a published image: platforms, binaries, attestations, signatures",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when one of them runs (or is asked about)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return self.commands.get(cmd_name)
        module, _, attribute = COMMANDS[cmd_name][0].partition(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        self.commands[cmd_name] = command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands with their one-line help from `COMMANDS`, none of them imported."""
        rows = [(name, COMMANDS[name][1]) for name in COMMANDS]
        rows += [(n, c.get_short_help_str()) for n, c in self.commands.items() if n not in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mab")
def cli() -> None:
    """Fast, visible multi-arch container builds. `mab COMMAND --help` tells more."""


def machine_error(exc: OSError) -> WriteError:
    """An OSError no command turned into a MabError: what failed, on which file, and what to do.
    stdout is silenced, so the rest of a document that could not be written is dropped too."""
    from mab.run.stdio import silence_stdout

    silence_stdout()
    reason = exc.strerror or str(exc)
    where = f"{exc.filename}: " if exc.filename else "writing the output: "
    hint = "free some disk space" if exc.errno == errno.ENOSPC else "fix the cause"
    return WriteError(f"{where}{reason}", hint=f"{hint}, then run again")


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: what any command writes to stdout or stderr is guarded, so text from
    a stream, a registry, a repository or the history never carries a control sequence."""
    with guarded_output():
        _main(argv)


def _main(argv: Sequence[str] | None) -> None:
    try:
        code = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except MabError as exc:
        click.echo(exc.render(), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("mab: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("mab: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code if exc.exit_code else EXIT_USAGE)
    except OSError as exc:  # the machine's fault (a full disk, a read-only file): no traceback
        click.echo(machine_error(exc).render(), err=True)
        sys.exit(EXIT_ENVIRONMENT)
    sys.exit(code if isinstance(code, int) else 0)
