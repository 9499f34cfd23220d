"""`manage.py seal_audit`: the sealer. Seals the audit events whose transactions have ended, then waits and again."""

import logging
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from clinic.audit import seal_pending

logger = logging.getLogger("clinic.audit")


class Command(BaseCommand):
    help = (
        "Seal the audit events committed since the last seal (Merkle root chained to the previous seal, exported to "
        "the log and AUDIT_ANCHOR_FILE), every AUDIT_SEAL_INTERVAL seconds; --once for a single pass."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")
        parser.add_argument("--interval", type=float, default=None, help="Seconds between passes.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            self.report(seal_pending())
            return
        interval = options["interval"] if options["interval"] is not None else settings.AUDIT_SEAL_INTERVAL
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            close_old_connections()
            try:
                self.report(seal_pending())
            except DatabaseError:
                # Loud but not fatal: the next pass retries, and the growing lag shows on /readyz and verify_audit.
                logger.exception("audit sealing failed; retrying in %s s", interval)
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(1.0, interval))

    def report(self, seals: list[Any]) -> None:
        for seal in seals:
            self.stdout.write(f"Sealed #{seal.sequence}: {seal.event_count} events, hash {seal.hash}")
