"""Staff accounts. Roles are Django groups named after `clinic.roles.Role`."""

import uuid
from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.db import models

from clinic.roles import Role


class User(AbstractUser):
    """A member of staff. Patients never log in."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def full_name(self) -> str:
        return self.get_full_name()

    @cached_property
    def roles(self) -> frozenset[Role]:
        """The user's role codes; reads the prefetched groups when the queryset prefetched them."""
        if not self.is_active:
            return frozenset()
        names = {group.name for group in self.groups.all()}
        return frozenset(Role(name) for name in names if name in Role.values)

    def has_role(self, role: Role) -> bool:
        return role in self.roles
