"""The engine fixtures of tests/e2e, for the composite action's engine-backed tests."""

from tests.e2e.conftest import engine, reference_project

__all__ = ["engine", "reference_project"]
