"""The site's URLs plus views that fail on purpose, for the error-handler tests (`@pytest.mark.urls`)."""

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path

from clinic.urls import handler400, handler403, handler404, handler500
from clinic.urls import urlpatterns as site_urlpatterns


def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug, with a patient's name in it: Garcia")


def lock_timeout(request: HttpRequest) -> HttpResponse:
    raise OperationalError("canceling statement due to lock timeout")


urlpatterns = [
    path("api/v1/crash/", crash),
    path("crash/", crash),
    path("api/v1/lock-timeout/", lock_timeout),
    path("lock-timeout/", lock_timeout),
    *site_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
