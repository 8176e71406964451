"""The built dist, as tests/buildsteps builds it (once a session)."""

from tests.buildsteps.conftest import build  # noqa: F401 - a fixture, shared
