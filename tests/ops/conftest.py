"""Fixtures for the operations tests: a client that returns the 500 instead of raising, a database that is down."""

import pytest
from django.db import OperationalError, connection
from django.test import Client


@pytest.fixture
def raw_client() -> Client:
    """A test client that hands back the error response instead of re-raising the view's exception."""
    return Client(raise_request_exception=False)


@pytest.fixture
def database_down(monkeypatch):
    """Every new cursor fails as it does while PostgreSQL restarts (connection refused)."""

    def refuse(*args, **kwargs):
        raise OperationalError(
            'connection to server at "db" (10.0.0.5), port 5432 failed: Connection refused'
        )

    def apply() -> None:
        monkeypatch.setattr(connection, "cursor", refuse)

    return apply
