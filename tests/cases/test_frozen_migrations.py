"""Old migrations do what they did the day they were written: none imports the live rollup code (or any other
project module that may change), they run frozen SQL (cases/migrations/_frozen_rollups_0026.py). On PostgreSQL,
with every kind of row in place, taking the rollup migrations back and running them again counts exactly what
the live code counts (`manage.py rollup_visits --check`'s comparisons)."""

import ast
import datetime as dt
import importlib
import types
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations import RunPython
from django.db.migrations.loader import MigrationLoader

from cases.census_rollup import census_differences
from cases.models import CensusCount, VisitCount
from cases.rollups import visit_count_differences
from cases.score_rollup import score_differences
from clinic.roles import Role
from tests.factories import UserFactory
from tests.report_builders import MET, closed_case, episode, local, score, screen, visit

ROOT = Path(__file__).resolve().parents[2]
# What a migration may import from the project: the migrations' own modules (frozen copies), and the names
# Django's field deconstruction writes (a validator, a storage, clinic.models.TransactionId as a db_default), which
# must stay importable under those names anyway.
ALLOWED = (
    "cases.migrations._",
    "clinic.migrations._",
    "cases.models.part2",
    "cases.models.ranges",
    "cases.contact",
    "clinic.models",
)
PROJECT = ("cases", "clinic", "api")


def project_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return [name for name in found if name.split(".")[0] in PROJECT]


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "cases" / "migrations").glob("0*.py"))
    + sorted((ROOT / "clinic" / "migrations").glob("0*.py")),
    ids=lambda path: f"{path.parent.parent.name}/{path.name}",
)
def test_no_migration_runs_live_project_code(path):
    assert [name for name in project_imports(path) if not name.startswith(ALLOWED)] == []


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "cases" / "migrations").glob("_*.py"))
    + sorted((ROOT / "clinic" / "migrations").glob("_*.py")),
    ids=lambda path: f"{path.parent.parent.name}/{path.name}",
)
def test_the_migrations_own_modules_read_no_project_code(path):
    assert project_imports(path) == []


def rollup_migrations() -> list[types.ModuleType]:
    """The cases migrations from 0019 (the first rollup) on, in order."""
    names = sorted(name for app, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations
                   if app == "cases" and name >= "0019")  # fmt: skip
    return [importlib.import_module(f"cases.migrations.{name}") for name in names]


def run_python(migration: types.ModuleType) -> list[RunPython]:
    return [op for op in migration.Migration.operations if isinstance(op, RunPython)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the rollups are PostgreSQL's")
def test_the_rollup_migrations_taken_back_and_run_again_count_what_the_live_code_counts(db):
    ana = UserFactory(username="ana", roles=[Role.CLINICIAN])
    ben = UserFactory(username="ben", roles=[Role.CLINICIAN])
    earlier = closed_case(dt.date(2024, 10, 1), dt.date(2024, 12, 20), primary=ana)
    moving = episode(dt.date(2025, 1, 5), ("assessment", dt.date(2025, 1, 20)), ("recovery", dt.date(2025, 3, 1)),
                     patient=earlier.patient, primary=ben)  # fmt: skip
    screen(moving, dt.date(2025, 3, 10), "negative", by=ben)
    for day, total in ((dt.date(2025, 1, 20), 16), (dt.date(2025, 2, 10), 9), (dt.date(2025, 3, 20), 4)):
        score(moving, "phq9", day, total=total, by=ben)
    score(moving, "dsm5_sud", dt.date(2024, 1, 10), responses=MET, by=ben)
    visit(moving, ben, local(dt.date(2025, 1, 6), 10), "attended", "intake")
    visit(moving, ana, local(dt.date(2025, 2, 6), 10), "no_show", "individual_counseling")
    editor = types.SimpleNamespace(connection=connection)

    migrations = rollup_migrations()
    assert [m.__name__.rsplit(".", 1)[1][:4] for m in migrations][:5] == [
        "0019",
        "0020",
        "0021",
        "0022",
        "0023",
    ]
    for migration in reversed(migrations):
        for operation in reversed(run_python(migration)):
            if operation.reverse_code is not None:
                operation.reverse_code(apps, editor)
    VisitCount.objects.all().delete()  # (0019's table stays: a model's)
    CensusCount.objects.all().delete()
    for migration in migrations:
        for operation in run_python(migration):
            operation.code(apps, editor)

    assert VisitCount.objects.count() == 2
    assert CensusCount.objects.exists()
    assert (visit_count_differences(), census_differences(), score_differences()) == ([], [], [])
