"""gunicorn configuration for `make load`'s audit-off runs (scripts/load.py): each worker, once it has loaded the app, skips the
audit event's INSERT (`AuditEvent.save` does nothing; the event is still built and hashed). For measuring what
the audit costs a request only: never a configuration of the clinic's server."""

from typing import Any


def post_worker_init(worker: Any) -> None:
    from clinic.models import AuditEvent

    def skip(self: AuditEvent, *args: Any, **kwargs: Any) -> None:
        return None

    AuditEvent.save = skip  # type: ignore[method-assign,assignment]
