"""API throttles: per user when signed in, per address when not, and per username and address at sign-in.

Rates are in `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]` (env `API_RATE_USER`, `API_RATE_ANON`, `API_RATE_SIGN_IN`).
The sign-in throttle counts per username *and* address, so that a clinic whose staff share one public address is
never throttled when fifty of them sign in at the start of a shift; the per-address rate for anonymous requests is
set high enough for that, and only stops a flood from one address.

The client's address comes from `clinic.network.client_ip`, as for the audit trail and the lockout. DRF's own
`get_ident` would trust the whole `X-Forwarded-For` header, which a client can set to anything.
"""

import hashlib
from collections.abc import Mapping
from typing import Any

from rest_framework import throttling
from rest_framework.request import Request

from clinic.network import client_ip


class ClientAddressMixin:
    def get_ident(self, request: Request) -> str:
        return client_ip(request) or "unknown"


class UserRateThrottle(ClientAddressMixin, throttling.UserRateThrottle):
    """Signed-in requests, per user (`user`)."""


class AnonRateThrottle(ClientAddressMixin, throttling.AnonRateThrottle):
    """Anonymous requests, per address (`anon`)."""


class SignInRateThrottle(ClientAddressMixin, throttling.SimpleRateThrottle):
    """Token requests, per username and address (`sign_in`), whatever the outcome."""

    scope = "sign_in"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        data = request.data if isinstance(request.data, Mapping) else {}
        username = str(data.get("username", ""))[:150].casefold()
        ident = f"{username}\n{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": hashlib.sha256(ident.encode()).hexdigest()}
