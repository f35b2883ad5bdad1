"""The harness's expression evaluator, on the forms the action uses and a few it refuses."""

from __future__ import annotations

import pytest

from tests.actions.expressions import ExpressionError, condition, evaluate, render

CONTEXTS = {
    "inputs": {"python-version": "3.11", "push": "true", "empty": ""},
    "steps": {"mab-builder": {"outputs": {"qemu": "false", "builder": "TRUE"}}},
    "github": {"action_path": "/a/actions/build"},
    "env": {"HOME": "/root"},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("inputs.python-version != ''", True),
        ("inputs.empty != ''", False),
        ("steps.mab-builder.outputs.qemu == 'true'", False),
        ("steps.mab-builder.outputs.builder == 'true'", True),  # case-insensitive
        ("steps.missing.outputs.x == ''", True),  # null and '' both compare as 0
        ("steps.missing.outputs.x == 'false'", False),
        ("!inputs.empty && (inputs.push == 'true' || false)", True),
        ("inputs.empty || 'fallback'", "fallback"),
        ("'it''s'", "it's"),
    ],
)
def test_evaluate(expression: str, expected: object) -> None:
    assert evaluate(expression, CONTEXTS) == expected


def test_render_and_condition() -> None:
    assert render("${{ github.action_path }}/../..", CONTEXTS) == "/a/actions/build/../.."
    assert render("py${{ inputs.python-version }}-x", CONTEXTS) == "py3.11-x"
    assert condition("${{ inputs.push == 'true' }}", CONTEXTS)
    assert condition(None, CONTEXTS)


@pytest.mark.parametrize("expression", ["hashFiles('x')", "secrets.TOKEN", "inputs", "a ="])
def test_refuses_what_it_does_not_know(expression: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(expression, CONTEXTS)
