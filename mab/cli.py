"""The `mab` command line. Thin: each subcommand lives in `mab/commands/` and returns an exit
code; every `MabError` becomes a message on stderr and its exit code, never a traceback."""

from __future__ import annotations

import errno
import sys
from collections.abc import Sequence

import click

from mab import __version__
from mab.errors import EXIT_ENVIRONMENT, EXIT_INTERRUPTED, EXIT_USAGE, MabError, WriteError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mab")
def cli() -> None:
    """Fast, visible multi-arch container builds.

    \b
    mab init-ci   write cache-aware GitHub Actions / GitLab CI pipelines
    mab build     run docker buildx build and show every platform's steps and cache hits
    mab replay    show a recorded build stream again
    mab doctor    check docker, buildx, the builder, emulators and the registry
    mab cache     list, inspect and remove the registry layer caches
    mab history   the builds recorded here: hit ratios, durations, steps, diffs
    mab why       why a build's steps missed the cache, per platform
    mab lint      find and fix what makes a Dockerfile cache-hostile
    mab metrics   Prometheus metrics of cache hits: serve the history, the Grafana dashboard
    """


def _register() -> None:
    from mab.commands.build import build_command
    from mab.commands.cache import cache_group
    from mab.commands.doctor import doctor_command
    from mab.commands.history import history_group, why_command
    from mab.commands.init_ci import init_ci_command
    from mab.commands.lint import lint_command
    from mab.commands.metrics import metrics_group
    from mab.commands.replay import replay_command

    for command in (
        init_ci_command,
        build_command,
        replay_command,
        cache_group,
        doctor_command,
        history_group,
        metrics_group,
        why_command,
        lint_command,
    ):
        cli.add_command(command)


_register()


def machine_error(exc: OSError) -> WriteError:
    """An OSError no command turned into a MabError: what failed, on which file, and what to do.
    stdout is silenced, so the rest of a document that could not be written is dropped too."""
    from mab.commands.running import silence_stdout

    silence_stdout()
    reason = exc.strerror or str(exc)
    where = f"{exc.filename}: " if exc.filename else "writing the output: "
    hint = "free some disk space" if exc.errno == errno.ENOSPC else "fix the cause"
    return WriteError(f"{where}{reason}", hint=f"{hint}, then run again")


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point."""
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
