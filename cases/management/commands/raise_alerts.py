"""`manage.py raise_alerts`: the time-based alert rules (engagement gap, plan review overdue); safe hourly."""

from typing import Any

from django.core.management.base import BaseCommand

from cases.services.alerts import alerts_raise_periodic


class Command(BaseCommand):
    help = "Raise time-based alerts for cases in treatment. Idempotent: safe to run from cron every hour."

    def handle(self, *args: Any, **options: Any) -> None:
        raised = alerts_raise_periodic()
        summary = ", ".join(f"{kind}: {n}" for kind, n in raised.items())
        self.stdout.write(f"Raised {sum(raised.values())} alert(s) ({summary}).")
