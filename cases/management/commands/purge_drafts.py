"""`manage.py purge_drafts`: delete expired drafts (each audited); run it daily beside the other jobs."""

from typing import Any

from django.core.management.base import BaseCommand

from cases.services.drafts import drafts_purge_expired


class Command(BaseCommand):
    help = "Delete drafts past their expiry (7 days after their last save); each deletion is audited."

    def handle(self, *args: Any, **options: Any) -> None:
        purged = drafts_purge_expired()
        self.stdout.write(f"Purged {purged} expired draft(s).")
