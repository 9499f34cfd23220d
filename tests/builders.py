"""Shared test helpers that tests import by name (fixtures are in the conftest files), whatever the entry point
under test: the API's tests and the pages' tests alike."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

# Every read of patient data appends one audit event (clinic.audit.audit_record): one INSERT, no lock and no read
# (the sealer chains events later). Part of every read's query count.
AUDIT_APPEND_QUERIES = 1


@contextmanager
def rows_for_the_scope(django_db_blocker: Any, build: Callable[[], T]) -> Iterator[T]:
    """`build()` once for a module or class, its rows rolled back after it: Django's `setUpTestData`, for pytest.

    Use it in a module- or class-scoped fixture that requests `django_db_setup` and `django_db_blocker`, and hand
    each test a `copy.deepcopy` of what it built through a function-scoped fixture that requests `db`: each test
    then runs in a savepoint inside this block, so that what it writes is rolled back before the next test, and
    what it changes on the instances it got stays with it. The block is a transaction kept open for the scope, so
    a test on committed data (`transactional_db`, `live_server`) cannot share it. The database is open only while
    the rows are written and rolled back (a test without `db` still may not touch it)."""
    from django.db import transaction

    with django_db_blocker.unblock():
        block = transaction.atomic()
        block._from_testcase = True  # type: ignore[attr-defined]  # a durable block inside is allowed, as in a TestCase
        block.__enter__()
        try:
            rows = build()
        except BaseException:
            transaction.set_rollback(True)
            block.__exit__(None, None, None)
            raise
    try:
        yield rows
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            block.__exit__(None, None, None)
