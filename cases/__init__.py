"""The clinical domain: patients, cases and their stages, visits; services for writes, selectors for reads."""
