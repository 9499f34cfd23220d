"""Shared test helpers that tests import by name (fixtures are in the conftest files), whatever the entry point
under test: the API's tests and the pages' tests alike."""

# Every read of patient data appends one audit event (clinic.audit.audit_record): one INSERT, no lock and no read
# (the sealer chains events later). Part of every read's query count.
AUDIT_APPEND_QUERIES = 1
