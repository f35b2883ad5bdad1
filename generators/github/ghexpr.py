"""GitHub Actions expressions mab writes, in one place, so every job agrees on "trusted"."""

from __future__ import annotations

import re

# The branch whose runs write caches, named once in the workflow's top-level `env:` (the only
# branch the workflow's `push` trigger runs on besides tags).
DEFAULT_BRANCH_ENV = "MAB_DEFAULT_BRANCH"
# Caches are written by pushes and manual runs on the default branch only, and read by every
# run: pull requests (from forks or not) never write one, tag builds only read (a release
# rebuilds what its branch already cached), and a manual run on another branch reads the
# default branch's caches without replacing them. So every cache has one writer, and every
# reader finds what it wrote.
CACHE_WRITE = (
    "github.event_name != 'pull_request' && "
    f"github.ref == format('refs/heads/{{0}}', env.{DEFAULT_BRANCH_ENV})"
)
CACHE_READ_ONLY = (
    "github.event_name == 'pull_request' || "
    f"github.ref != format('refs/heads/{{0}}', env.{DEFAULT_BRANCH_ENV})"
)
# Publishing: everything but pull requests.
PUBLISH = "github.event_name != 'pull_request'"
# Registry login: everywhere secrets exist (not on pull requests from forks).
LOGIN = (
    "github.event_name != 'pull_request' || "
    "github.event.pull_request.head.repo.full_name == github.repository"
)

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def wrap(expr: str) -> str:
    return f"${{{{ {expr} }}}}"


_OPEN = "${{"
_GLOB_SPECIAL = re.compile(r"([+!])")  # in a branch name: git refuses * ? [ \\ and spaces


def text_value(text: str) -> str:
    """A value from the repository (a folder, a branch, a build arg) for a field GitHub
    evaluates: every `${{` in it is written as an expression that yields `${{`, so nothing in
    it is ever evaluated."""
    return text.replace(_OPEN, "${{ '${{' }}") if _OPEN in text else text


def branch_filter(branch: str) -> str:
    """A branch name as an `on.push.branches` pattern: the glob's `+` and `!` escaped, and
    `$` as `?` (the one character the filter syntax cannot escape), so the filter holds no
    `${{`; it may match a branch that differs there, never miss this one."""
    return _GLOB_SPECIAL.sub(r"\\\1", branch).replace("$", "?")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def when(condition: str, value: str) -> str:
    """`value` when `condition` holds, else "": one expression, even if `value` embeds some."""
    parts = _EXPR.split(value)
    if len(parts) == 1:
        return wrap(f"({condition}) && {_literal(value)} || ''")
    template, args = "", list[str]()
    for i, part in enumerate(parts):
        if i % 2:
            template += "{" + str(len(args)) + "}"
            args.append(part)
        else:
            template += part.replace("{", "{{").replace("}", "}}")
    return wrap(f"({condition}) && format({_literal(template)}, {', '.join(args)}) || ''")
