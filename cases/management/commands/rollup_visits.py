"""`manage.py rollup_visits`: the visits report's rollup (cases/rollups.py; PostgreSQL, nothing to do on SQLite).

- no option: settle (fold the change rows the triggers appended into one row per cell; the scheduler does this);
- `--rebuild`: reinstall the triggers and recount every visit (a backfill after a bulk load that bypassed the
  triggers, or a repair);
- `--check`: compare the rollup with the visits themselves and exit non-zero naming each cell that differs.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.rollups import has_rollups, rebuild_visit_counts, settle_visit_counts, visit_count_differences


class Command(BaseCommand):
    help = "Settle, rebuild or check the visits report's rollup (PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="Reinstall the triggers and recount.")
        parser.add_argument("--check", action="store_true", help="Compare the rollup with the visits.")

    def handle(self, *args: Any, rebuild: bool = False, check: bool = False, **options: Any) -> None:
        if not has_rollups():
            self.stdout.write("No rollups on this database (PostgreSQL only): the reports count the visits.")
            return
        if rebuild:
            self.stdout.write(f"Rebuilt the visit counts: {rebuild_visit_counts():,} cells.")
        elif not check:
            written = settle_visit_counts()
            self.stdout.write(
                "Another pass is settling." if written is None else f"Settled {written:,} cell(s)."
            )
        if check:
            differences = visit_count_differences()
            for day, visit_type, clinician, status, counted, actual in differences:
                self.stderr.write(
                    f"{day} {visit_type} {clinician} {status}: rollup {counted}, visits {actual}"
                )
            if differences:
                raise CommandError(f"{len(differences)} cell(s) of the visit counts differ from the visits.")
            self.stdout.write("The visit counts agree with the visits.")
