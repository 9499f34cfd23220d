"""App configurations for the project package: staff accounts and roles, and the admin site."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ClinicConfig(AppConfig):
    default = True
    name = "clinic"
    verbose_name = "Staff and access"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from clinic import credentials, security
        from clinic.dbroles import grant_after_migrate

        security.connect_signals()  # audit logins, logouts and failed logins (after axes' receivers)
        credentials.connect_signals()  # a changed password revokes the user's API tokens
        # The app's least-privilege database login gets its grants after every migrate (clinic.dbroles).
        post_migrate.connect(grant_after_migrate, dispatch_uid="clinic.dbroles.grant_after_migrate")
        warn_if_a_role_signs_in_without_mfa()


def warn_if_a_role_signs_in_without_mfa() -> bool:
    """SPEC section 2: every role signs in with TOTP in production. Logs a warning naming the roles a production
    configuration (DEBUG off) exempts; returns whether it did."""
    import logging

    from django.conf import settings

    from clinic.roles import Role

    exempt = sorted(set(Role.values) - set(settings.MFA_REQUIRED_ROLES))
    if settings.DEBUG or not exempt:
        return False
    logging.getLogger("clinic.security").warning(
        "MFA_REQUIRED_ROLES leaves out %s: those roles sign in with a password only (SPEC section 2 asks TOTP "
        "for every role in production).",
        ", ".join(exempt),
    )
    return True


class ClinicAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "clinic.admin_site.ClinicAdminSite"
