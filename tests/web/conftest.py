"""Fixtures for the staff pages' tests (`signed_in`, a browser-like client signed in as a user, is in
tests/conftest.py, shared with the release tests)."""

import pytest


@pytest.fixture
def htmx() -> dict[str, str]:
    """Headers of a request made by htmx (`client.post(url, data, headers=htmx)`)."""
    return {"HX-Request": "true"}
