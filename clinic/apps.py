"""App configurations for the project package: staff accounts and roles, and the admin site."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ClinicConfig(AppConfig):
    default = True
    name = "clinic"
    verbose_name = "Staff and access"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from clinic.dbroles import grant_after_migrate
        from clinic.security import connect_signals

        connect_signals()  # audit logins, logouts and failed logins (after axes' receivers: see clinic.security)
        # The app's least-privilege database login gets its grants after every migrate (clinic.dbroles).
        post_migrate.connect(grant_after_migrate, dispatch_uid="clinic.dbroles.grant_after_migrate")


class ClinicAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "clinic.admin_site.ClinicAdminSite"
