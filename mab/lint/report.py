"""Findings as text (one line each, like a compiler), as one JSON document, or as SARIF 2.1.0
for GitHub code scanning."""

from __future__ import annotations

import difflib
import json
from pathlib import PurePosixPath
from typing import Any

from mab import __version__
from mab.lint.rules import BY_ID, RULES, Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def unified_diff(path: str, old: str, new: str) -> str:
    """A unified diff of one file, `git diff` style for a last line without a newline."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    end = "\n\\ No newline at end of file\n"
    return "".join(line if line.endswith("\n") else line + end for line in lines)


def as_text(findings: list[Finding], fixed: int = 0) -> str:
    lines = [
        f"{f.path}:{f.line}: {f.rule} {BY_ID[f.rule].name}: {f.message}"
        + (" [fixable]" if f.fixable else "")
        for f in findings
    ]
    fixable = sum(1 for f in findings if f.fixable)
    summary = f"{len(findings)} finding(s)"
    if fixable:
        summary += f", {fixable} fixable with `mab lint --fix`"
    if fixed:
        summary = f"fixed {fixed}; " + summary + " left"
    lines.append(summary if findings or fixed else "no findings")
    return "\n".join(lines) + "\n"


def _finding_data(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "name": BY_ID[f.rule].name,
        "path": f.path,
        "line": f.line,
        "message": f.message,
        "fixable": f.fixable,
    }


def as_json(findings: list[Finding], fixed: int = 0) -> str:
    data = {
        "findings": [_finding_data(f) for f in findings],
        "fixed": fixed,
        "rules": {r.id: {"name": r.name, "why": r.why, "fix": r.fix} for r in RULES},
    }
    return json.dumps(data, indent=2) + "\n"


def _artifact(path: str) -> dict[str, str]:
    """A SARIF artifact location: relative paths against the checkout's root."""
    if PurePosixPath(path).is_absolute():
        return {"uri": PurePosixPath(path).as_uri()}
    return {"uri": PurePosixPath(path).as_posix(), "uriBaseId": "%SRCROOT%"}


def as_sarif(findings: list[Finding]) -> str:
    rules = [
        {
            "id": r.id,
            "name": r.name,
            "shortDescription": {"text": r.why[0].upper() + r.why[1:] + "."},
            "fullDescription": {"text": r.why[0].upper() + r.why[1:] + ". Fix: " + r.fix + "."},
            "help": {"text": r.fix[0].upper() + r.fix[1:] + "."},
            "defaultConfiguration": {"level": "warning"},
        }
        for r in RULES
    ]
    index = {r.id: n for n, r in enumerate(RULES)}
    results = [
        {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": "warning",
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact(f.path),
                        "region": {"startLine": f.line},
                    }
                }
            ],
        }
        for f in findings
    ]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mab lint",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
