"""gunicorn configuration for `make load` and `make freeze` (scripts/load.py, scripts/freeze.py); never a
configuration of the clinic's server.

Each worker, once it has loaded the app:

- names its database connection `load-<worker pid>` (libpq's `application_name`), so the scripts can find the
  PostgreSQL backend that serves it in `pg_stat_activity` (its CPU time; whether it is inside a transaction);
- with LOAD_AUDIT=off, skips the audit event's INSERT (`AuditEvent.save` does nothing; the event is still built
  and hashed): for measuring what the audit costs a request only.
"""

import os
from typing import Any


def post_worker_init(worker: Any) -> None:
    from django.db import connection

    connection.close()
    connection.settings_dict.setdefault("OPTIONS", {})["application_name"] = f"load-{os.getpid()}"

    if os.environ.get("LOAD_AUDIT") == "off":
        from clinic.models import AuditEvent

        def skip(self: AuditEvent, *args: Any, **kwargs: Any) -> None:
            return None

        AuditEvent.save = skip  # type: ignore[method-assign,assignment]
