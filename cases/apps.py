"""App configuration for the clinical domain."""

from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Clinical cases"
