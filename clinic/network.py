"""The client's address, as the audit trail, the login lockout and the API throttles all see it.

Without a proxy the client is `REMOTE_ADDR`. Behind `TRUSTED_PROXY_COUNT` reverse proxies that each append to
`X-Forwarded-For`, the client is the address the outermost trusted proxy saw: the entry that many places from the
right. Entries further left are whatever the client chose to send, so they are never used (a client that could
pick its own address could dodge the lockout or pin it on someone else).
"""

import ipaddress
from typing import Any

from django.conf import settings


def client_ip(request: Any) -> str | None:
    """The client's IP address for `request` (a Django or DRF request), or None when there is none."""
    meta = request.META
    proxies: int = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    candidate = meta.get("REMOTE_ADDR") or None
    if proxies > 0:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            candidate = forwarded[-min(proxies, len(forwarded))]
    if candidate is None:
        return None
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None
