"""Counting the queries of a request at the connection."""

from collections.abc import Callable

from django.db import connection


def count_queries(call: Callable[[], object]) -> int:
    """Queries run by `call()`, counted at the connection (the test client's request signals reset Django's own
    query log midway)."""
    count = 0

    def counted(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        call()
    return count
