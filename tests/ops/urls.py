"""The site's URLs plus views that fail on purpose, for the error-handler tests (`@pytest.mark.urls`)."""

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path

from clinic.urls import handler400, handler403, handler404, handler500
from clinic.urls import urlpatterns as site_urlpatterns


def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug, with a patient's name in it: Garcia")


class DriverError(Exception):
    """What psycopg raises under Django's wrapper: an error carrying its SQLSTATE (None: no server answered)."""

    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def database_error(message: str, sqlstate: str | None) -> OperationalError:
    error = OperationalError(message)
    error.__cause__ = DriverError(message, sqlstate)
    return error


def lock_timeout(request: HttpRequest) -> HttpResponse:
    raise database_error("canceling statement due to lock timeout", "55P03")


def connection_lost(request: HttpRequest) -> HttpResponse:
    raise database_error("server closed the connection unexpectedly", None)


urlpatterns = [
    path("api/v1/crash/", crash),
    path("crash/", crash),
    path("api/v1/lock-timeout/", lock_timeout),
    path("lock-timeout/", lock_timeout),
    path("api/v1/connection-lost/", connection_lost),
    path("connection-lost/", connection_lost),
    *site_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
