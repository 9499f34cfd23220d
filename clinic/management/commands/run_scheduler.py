"""`manage.py run_scheduler`: the clinic's timed jobs in one long-running process (compose's `scheduler` service).

- `raise_alerts` every hour (SCHEDULE_RAISE_ALERTS_SECONDS), and once at start;
- `purge_drafts` every hour (SCHEDULE_PURGE_DRAFTS_SECONDS): drafts hold typed patient data and are deleted
  once expired, not only hidden;
- `rollup_visits` every minute (SCHEDULE_SETTLE_VISIT_COUNTS_SECONDS): folds the visits report's change rows
  into its rollup (cases/rollups.py) and recounts the patients marked for the census rollup
  (cases/census_rollup.py); the reports are exact without it, only slower as change rows and marks pile up;
- `seal_audit --once` twice per AUDIT_SEAL_INTERVAL (every 30 s with the default 60), when that command exists:
  an event written just after a pass is then sealed well within the interval, which is what `verify_audit`
  and /readyz hold the sealer to (sealing every full interval would leave such an event a moment over it).

APScheduler runs each job in this process, one run of a job at a time (a run still going when the next is due
is skipped, not stacked; a missed run is done once, not once per miss). A job that fails is logged with its
traceback and tried again at its next time; the scheduler itself keeps going. Run exactly one scheduler per
database: the jobs are idempotent, but two schedulers would do the work twice.

`--once` runs every job once, in order, and exits non-zero if any failed (for a test or an operator's check).
"""

import contextlib
import datetime as dt
import logging
import signal
import time
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection

logger = logging.getLogger("clinic.scheduler")


@dataclass(frozen=True)
class Job:
    name: str
    command: tuple[str, ...]
    every_seconds: int


def scheduled_jobs() -> list[Job]:
    """The jobs this installation can run (the audit sealer only once its command exists)."""
    jobs = [
        Job("raise_alerts", ("raise_alerts",), settings.SCHEDULE_RAISE_ALERTS_SECONDS),
        Job("purge_drafts", ("purge_drafts",), settings.SCHEDULE_PURGE_DRAFTS_SECONDS),
        Job("rollup_visits", ("rollup_visits",), settings.SCHEDULE_SETTLE_VISIT_COUNTS_SECONDS),
    ]
    if "seal_audit" in get_commands():
        jobs.append(Job("seal_audit", ("seal_audit", "--once"), max(1, settings.AUDIT_SEAL_INTERVAL // 2)))
    return jobs


def run_job(job: Job) -> bool:
    """Run one job; True when it succeeded. Never raises: the scheduler must outlive a failing job."""
    _drop_stale_connections()
    started = time.perf_counter()
    try:
        call_command(*job.command)
    except Exception:
        logger.exception("scheduled job failed", extra={"job": job.name})
        return False
    finally:
        _drop_stale_connections()
    logger.info(
        "scheduled job done",
        extra={"job": job.name, "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
    )
    return True


def _drop_stale_connections() -> None:
    """A connection the database dropped since the last run is replaced, not reused (as Django does around each
    request). Not inside a transaction (a caller's, or a test's), which closing would break."""
    if not connection.in_atomic_block:
        close_old_connections()


class Command(BaseCommand):
    help = "Run the timed jobs (raise_alerts hourly, the audit sealer) until stopped; --once runs each once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run every job once and exit")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        jobs = scheduled_jobs()
        if once:
            failed = [job.name for job in jobs if not run_job(job)]
            if failed:
                raise CommandError(f"Failed: {', '.join(failed)} (see the log).")
            self.stdout.write(f"Ran {', '.join(job.name for job in jobs)}.")
            return
        scheduler = BlockingScheduler(timezone=dt.UTC)
        for job in jobs:
            scheduler.add_job(
                run_job,
                "interval",
                args=[job],
                seconds=job.every_seconds,
                id=job.name,
                next_run_time=dt.datetime.now(dt.UTC),  # each job once at start, then on its interval
                max_instances=1,
                coalesce=True,
                misfire_grace_time=job.every_seconds,
            )
        # `docker stop` sends SIGTERM: finish nothing new, let a running job end, exit.
        signal.signal(signal.SIGTERM, lambda signum, frame: scheduler.shutdown(wait=False))
        logger.info("scheduler started", extra={"jobs": [job.name for job in jobs]})
        with contextlib.suppress(KeyboardInterrupt):
            scheduler.start()
        logger.info("scheduler stopped")
