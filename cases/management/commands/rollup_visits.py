"""`manage.py rollup_visits`: the reports' rollups, visits (cases/rollups.py) and census
(cases/census_rollup.py, with the outcomes' scores: cases/score_rollup.py); PostgreSQL, nothing to do on SQLite.

- no option: settle (fold the change rows the visit triggers appended into one row per cell) and recount the
  patients the census triggers marked; the scheduler does this every minute;
- `--rebuild`: reinstall the triggers and recount every visit and every patient (a backfill after a bulk load
  that bypassed the triggers, or a repair);
- `--check`: compare both rollups with the rows themselves and exit non-zero naming each cell that differs.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.census_rollup import census_differences, rebuild_census, recount_census
from cases.rollups import has_rollups, rebuild_visit_counts, settle_visit_counts, visit_count_differences
from cases.score_rollup import score_differences


class Command(BaseCommand):
    help = "Settle, rebuild or check the visits and census reports' rollups (PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="Reinstall the triggers and recount.")
        parser.add_argument("--check", action="store_true", help="Compare the rollup with the visits.")

    def handle(self, *args: Any, rebuild: bool = False, check: bool = False, **options: Any) -> None:
        if not has_rollups():
            self.stdout.write("No rollups on this database (PostgreSQL only): the reports count the visits.")
            return
        if rebuild:
            self.stdout.write(f"Rebuilt the visit counts: {rebuild_visit_counts():,} cells.")
            self.stdout.write(f"Rebuilt the census counts: {rebuild_census():,} cells.")
        elif not check:
            written = settle_visit_counts()
            self.stdout.write(
                "Another pass is settling." if written is None else f"Settled {written:,} cell(s)."
            )
            self.stdout.write(f"Recounted the census: {recount_census():,} cell(s) changed.")
        if check:
            recount_census()  # patients still marked would show as differences
            census = census_differences()
            for kind, day, key, clinician, counted, actual in census:
                self.stderr.write(f"census {kind} {day} {key} {clinician}: rollup {counted}, cases {actual}")
            if census:
                raise CommandError(f"{len(census)} cell(s) of the census counts differ from the cases.")
            self.stdout.write("The census counts agree with the cases.")
            scores = score_differences()
            for what, which, counted, actual in scores:
                self.stderr.write(f"scores {what} {which}: rollup {counted}, assessments {actual}")
            if scores:
                raise CommandError(f"{len(scores)} fact(s) or cell(s) of the score counts differ.")
            self.stdout.write("The score counts agree with the assessments.")
            differences = visit_count_differences()
            for day, visit_type, clinician, status, counted, actual in differences:
                self.stderr.write(
                    f"{day} {visit_type} {clinician} {status}: rollup {counted}, visits {actual}"
                )
            if differences:
                raise CommandError(f"{len(differences)} cell(s) of the visit counts differ from the visits.")
            self.stdout.write("The visit counts agree with the visits.")
