"""`manage.py verify_audit`: walk the audit hash chain; exit non-zero naming the first broken event."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from clinic.audit import verify_chain
from clinic.models import AuditEvent


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; fails naming the first event that was altered or removed."

    def handle(self, *args: Any, **options: Any) -> None:
        first_break = next(verify_chain(), None)
        if first_break is not None:
            raise CommandError(f"Audit chain broken at event #{first_break.sequence}: {first_break.reason}.")
        self.stdout.write(f"Audit chain intact: {AuditEvent.objects.count()} events.")
