"""App configurations for the project package: staff accounts and roles, and the admin site."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ClinicConfig(AppConfig):
    default = True
    name = "clinic"
    verbose_name = "Staff and access"

    def ready(self) -> None:
        from clinic.security import connect_signals

        connect_signals()  # audit logins, logouts and failed logins (after axes' receivers: see clinic.security)


class ClinicAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "clinic.admin_site.ClinicAdminSite"
