"""GitHub Actions expressions mab writes, in one place, so every job agrees on "trusted"."""

from __future__ import annotations

import re

# Events whose code comes from this repository's own branches: a push (to the branches the
# workflow triggers on) or a manual run by someone with write access. Pull requests, from forks
# or not, never write a cache, and tag builds only read (a release rebuilds what its branch
# already cached; a tag-scoped cache would be read by nobody).
CACHE_WRITE = "github.event_name != 'pull_request' && !startsWith(github.ref, 'refs/tags/')"
CACHE_READ_ONLY = "github.event_name == 'pull_request' || startsWith(github.ref, 'refs/tags/')"
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
