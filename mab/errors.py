"""The one error hierarchy: what a user can fix gets a message and an exit code, never a traceback.

Exit codes (documented in the README):
  1  a check failed (`--check` found drift, `mab doctor` found a problem, a build failed)
  2  usage or input error the user can fix (bad flag, no Dockerfile, invalid YAML on disk)
  3  the environment is not ready (docker missing, daemon down, buildx too old, no emulator;
     a file mab must write is read-only, the disk is full, another run holds the lock)
  4  a file would be overwritten that mab does not own (use --force)
  5  a registry or network problem
  6  a replayed build stream ended before the build did (`incomplete`)
  7  `mab verify`: the registry refused access (no login, rejected credentials, no permission)
  8  `mab verify`: the image, tag or digest is not in the registry
130 interrupted / cancelled
"""

from __future__ import annotations

EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3
EXIT_NOT_OURS = 4
EXIT_REGISTRY = 5
EXIT_INCOMPLETE = 6  # a recorded build stream ended before the build did
EXIT_REGISTRY_AUTH = 7  # `mab verify`: the registry refused access
EXIT_REGISTRY_NOT_FOUND = 8  # `mab verify`: the image is not in the registry
EXIT_INTERRUPTED = 130


class MabError(Exception):
    """Base of every error mab reports to the user."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        text = f"mab: error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UserError(MabError):
    """Something in the user's input or files that they can fix."""

    exit_code = EXIT_USAGE


class InvalidYamlError(UserError):
    """A YAML file on disk cannot be parsed; it is left untouched."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(
            f"{where}: {problem}",
            hint="fix the YAML (nothing was written), then run the command again",
        )
        self.path = path
        self.line = line


class NotOwnedError(MabError):
    """mab would overwrite a file it did not create."""

    exit_code = EXIT_NOT_OURS


class EnvironmentNotReady(MabError):
    """docker, buildx, the daemon, the builder or an emulator is missing or unfit."""

    exit_code = EXIT_ENVIRONMENT


class WriteError(MabError):
    """A file mab must write cannot be written: read-only, disk full, locked by another run."""

    exit_code = EXIT_ENVIRONMENT


class RegistryError(MabError):
    """The registry refused, failed or could not be reached."""

    exit_code = EXIT_REGISTRY


class RegistryAuthError(RegistryError):
    """The registry wants a login, rejected the credentials, or denied the account (403)."""


class RegistryNotFound(RegistryError):
    """The image, tag or digest is not in the registry."""
