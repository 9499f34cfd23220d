"""The project package: settings, urls, staff accounts, roles and the access policy."""
