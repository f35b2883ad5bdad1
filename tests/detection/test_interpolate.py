from __future__ import annotations

import pytest

from mab.detection.interpolate import Unresolved, interpolate, parse_env_file

ENV = {"DOMAIN": "example.test", "EMPTY": "", "TAG": "1.2"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://api.${DOMAIN}", "https://api.example.test"),
        ("https://api.$DOMAIN/x", "https://api.example.test/x"),
        ("https://api.${DOMAIN?Variable not set}", "https://api.example.test"),
        ("${DOMAIN:?needed}", "example.test"),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${EMPTY-fallback}", ""),
        ("${MISSING-fallback}", "fallback"),
        ("${TAG:+v$TAG}", "v1.2"),
        ("${EMPTY:+set}", ""),
        ("${EMPTY+set}", "set"),
        ("${MISSING:-${DOMAIN}}", "example.test"),
        ("${MISSING:-${OTHER:-deep}}", "deep"),
        ("costs $$5 and $${NOT_A_VAR}", "costs $5 and ${NOT_A_VAR}"),
        ("a lone $ sign", "a lone $ sign"),
        ("no variables", "no variables"),
    ],
)
def test_compose_syntax(text: str, expected: str) -> None:
    assert interpolate(text, ENV) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${MISSING}", "variable MISSING is not set"),
        ("$MISSING", "variable MISSING is not set"),
        ("${MISSING?Variable not set}", "variable MISSING is required (Variable not set)"),
        ("${EMPTY:?must not be empty}", "variable EMPTY is required (must not be empty)"),
        ("${DOMAIN", "invalid variable reference"),
        ("${1BAD}", "invalid variable reference"),
    ],
)
def test_unresolved_values_are_reported_not_returned(text: str, message: str) -> None:
    with pytest.raises(Unresolved) as info:
        interpolate(text, ENV)
    assert message in info.value.message


def test_env_file_forms() -> None:
    text = (
        "# comment\n"
        "\n"
        "DOMAIN=example.test\n"
        "export NAME='literal ${DOMAIN}'\n"
        'QUOTED="line\\none"\n'
        "URL=https://${DOMAIN}/api  # trailing comment\n"
        "EMPTY=\n"
        "BROKEN=${NOT_SET}\n"
        "not a line\n"
    )
    assert parse_env_file(text) == {
        "DOMAIN": "example.test",
        "NAME": "literal ${DOMAIN}",
        "QUOTED": "line\none",
        "URL": "https://example.test/api",
        "EMPTY": "",
    }
