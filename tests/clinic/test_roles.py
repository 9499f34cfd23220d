"""Roles: the four groups the data migration creates, and `User.roles` reading them."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from clinic.models import User
from clinic.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

roles_migration = importlib.import_module("clinic.migrations.0002_roles")


def test_the_data_migration_created_exactly_the_four_role_groups():
    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(Role.values)


def test_the_role_codes_are_the_spec_codes():
    assert Role.values == ["front_desk", "clinician", "supervisor", "administrator"]


def test_running_the_role_migration_again_adds_no_group():
    roles_migration.create_roles(apps, schema_editor=None)

    assert Group.objects.count() == 4


def test_user_roles_are_read_from_the_users_groups():
    user = UserFactory(roles=[Role.SUPERVISOR, Role.ADMINISTRATOR])

    assert user.roles == frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})


def test_a_user_without_groups_has_no_roles():
    assert UserFactory().roles == frozenset()


def test_groups_that_are_not_roles_are_ignored():
    user = UserFactory(roles=[Role.CLINICIAN])
    user.groups.add(Group.objects.create(name="volunteers"))

    assert User.objects.get(pk=user.pk).roles == frozenset({Role.CLINICIAN})


def test_an_inactive_user_has_no_roles():
    user = UserFactory(roles=[Role.SUPERVISOR, Role.ADMINISTRATOR], is_active=False)

    assert user.roles == frozenset()


def test_has_role_answers_for_held_roles_only():
    user = UserFactory(roles=[Role.FRONT_DESK])

    assert (user.has_role(Role.FRONT_DESK), user.has_role(Role.CLINICIAN)) == (True, False)


def test_roles_read_prefetched_groups_without_a_query(django_assert_num_queries):
    UserFactory.create_batch(3, roles=[Role.CLINICIAN, Role.FRONT_DESK])
    users = list(User.objects.prefetch_related("groups"))

    with django_assert_num_queries(0):
        roles = [user.roles for user in users]

    assert roles == [frozenset({Role.CLINICIAN, Role.FRONT_DESK})] * 3
