"""Whether an instruction may read a build variable, for the fixes that move an ARG down.

An ARG reaches every later RUN as an environment variable, so a step uses it when it names it
(`$TARGETARCH`, in its flags, arguments or heredocs), and also when it runs anything that may
read it from the environment unnamed: the `xx-*` cross-compilation helpers and other
TARGETPLATFORM-aware tools, a script the stage copied in, a build tool. The rule is "when in
doubt, used": a RUN counts as not using the variable only when every command in it is one
known not to read build variables (file and user housekeeping, the system package managers,
dependency downloads that run no project code). ONBUILD and SHELL always count as uses. Pure.
"""

from __future__ import annotations

import re

from mab.lint.reader import Instruction

# Commands that read no build variable from the environment (GNU/busybox housekeeping, the
# system package managers, downloads). A command not listed here may read one.
_QUIET = frozenset(
    {
        *("mkdir", "cp", "mv", "rm", "ln", "chmod", "chown", "chgrp", "touch", "echo"),
        *("printf", "cd", "true", "false", "test", "[", "ls", "cat", "tee", "sed", "grep"),
        *("useradd", "adduser", "addgroup", "groupadd", "usermod", "update-ca-certificates"),
        *("ldconfig", "apt-get", "apt", "apk", "dnf", "yum", "microdnf", "zypper", "tar"),
        *("unzip", "gzip", "gunzip", "sha256sum", "curl", "wget", "git", "set", "export"),
        *("rmdir", "install", "find", "xargs", "sort", "head", "tail", "tr", "cut", "wc"),
        *("id", "whoami", "date", "sleep", "corepack", "update-alternatives", "locale-gen"),
        *(":", "fi", "done", "esac", "exit"),
    }
)
# Sub-commands of package managers that only download (they run no project code).
_DOWNLOAD_ONLY = re.compile(
    r"^(?:go\s+mod\s+(?:download|verify)|cargo\s+fetch|pip3?\s+download|"
    r"npm\s+(?:ci|install|i)\s+.*--ignore-scripts|pnpm\s+fetch)\b"
)
# Tools that read TARGETPLATFORM/TARGETARCH/... from the environment.
_PLATFORM_AWARE = re.compile(r"(?:^|[\s;&|(`/])(?:xx-|goxx-|cross\b|TARGETPLATFORM\b)")
_HEREDOC_ONLY = re.compile(r"<<-?\s*[\"']?[A-Za-z_][A-Za-z0-9_]*[\"']?")
_SPLIT = re.compile(r"&&|\|\||[;|\n()`]|\$\(")
_PREFIX = re.compile(
    r"^(?:(?:[A-Za-z_][A-Za-z0-9_]*=\S*|sudo|exec|env|then|do|else|elif|if|while|until|!|\{)\s+)*"
)


def names(ins: Instruction, wanted: set[str]) -> bool:
    """True when `ins` refers to any of `wanted` as `$NAME` or `${NAME...}`."""
    text = " ".join(f"{k}={v}" for k, v in ins.flags) + " " + ins.script
    return any(re.search(r"\$\{?" + re.escape(n) + r"(?![A-Za-z0-9_])", text) for n in wanted)


def quiet_command(command: str) -> bool:
    """True when `command` (one simple command) is known to read no build variable."""
    text = _PREFIX.sub("", command.strip())
    if not text or text.startswith("#"):
        return True
    if _DOWNLOAD_ONLY.match(text):
        return True
    word = text.split()[0]
    return word in _QUIET


def platform_aware(ins: Instruction) -> bool:
    """True when a RUN calls a tool that reads the target platform from the environment."""
    return ins.keyword == "RUN" and _PLATFORM_AWARE.search(ins.script) is not None


def may_read(ins: Instruction, wanted: set[str]) -> bool:
    """True when `ins` may read any of the build variables `wanted` (named or from the
    environment of what it runs)."""
    if ins.keyword in ("ONBUILD", "SHELL"):
        return True
    if names(ins, wanted):
        return True
    if ins.keyword != "RUN":
        return False
    if ins.args.startswith("[") or _PLATFORM_AWARE.search(ins.script):
        return True
    script = ins.args
    if ins.heredocs:
        # Only a heredoc that is the shell script itself (`RUN <<EOT`) can be read here.
        if not _HEREDOC_ONLY.fullmatch(ins.args.strip()) or ins.heredocs.startswith("#!"):
            return True
        script = ins.heredocs
    return not all(quiet_command(part) for part in _SPLIT.split(script))
