"""The four staff roles; each is a Django group of the same name, created by a data migration."""

from django.db import models


class Role(models.TextChoices):
    FRONT_DESK = "front_desk", "Front desk"
    CLINICIAN = "clinician", "Clinician"
    SUPERVISOR = "supervisor", "Supervisor"
    ADMINISTRATOR = "administrator", "Administrator"
