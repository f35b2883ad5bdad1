"""The real-engine fixture of tests/e2e, for the history's engine tests."""

from tests.e2e.conftest import engine as engine
