"""Fixtures for the staff pages' tests: a browser-like test client signed in as a given user."""

from collections.abc import Callable

import pytest
from django.test import Client

from clinic.models import User


@pytest.fixture
def signed_in(client: Client) -> Callable[[User], Client]:
    """`signed_in(user)` -> the test client with that user's session."""

    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def htmx() -> dict[str, str]:
    """Headers of a request made by htmx (`client.post(url, data, headers=htmx)`)."""
    return {"HX-Request": "true"}
