"""Reports as one flat table for CSV: a row per figure, the same numbers as the JSON (suppressed ones included).
Each report's table is named by its declaration (`cases/reports/registry.py`); the cells are written by the one
CSV writer, `clinic.exports` (which defuses anything a spreadsheet would read as a formula).

Columns: `section` (the JSON key the figure sits under, `summary` for top-level figures), `group` and `subgroup`
(what the figure is about: a stage, a reason, a month and visit type, a clinician's id, an instrument, a day),
`label` (the same in words), `measure` (the figure's JSON name) and `value` (empty for null).
"""

from collections.abc import Iterator
from typing import Any

from cases.models import Assessment, Case, Visit
from cases.reports.visits_report import COUNTS

HEADER = ["section", "group", "subgroup", "label", "measure", "value"]
Row = list[object]  # the values as they are; `clinic.exports.cell` writes each as text

STAGE_LABELS = dict(Case.Stage.choices)
REASON_LABELS = dict(Case.DischargeReason.choices)
VISIT_TYPE_LABELS = dict(Visit.VisitType.choices)
INSTRUMENT_LABELS = dict(Assessment.Instrument.choices)
REMISSION_LABELS = {"early": "Early remission", "sustained": "Sustained remission"}


def _row(section: str, group: object, subgroup: str, label: str, measure: str, value: Any) -> Row:
    """One figure's row (staff names in `label` are people's input: the writer's `cell` defuses a formula)."""
    return [section, group, subgroup, label, measure, value]


def _summary(data: dict[str, Any], *keys: str) -> Iterator[Row]:
    for key in keys:
        yield _row("summary", "", "", "", key, data[key])


def _mapping(section: str, measure: str, mapping: dict[str, Any], labels: dict[str, str]) -> Iterator[Row]:
    for key, value in mapping.items():
        yield _row(section, key, "", labels.get(key, key), measure, value)


def census_table(data: dict[str, Any]) -> Iterator[Row]:
    yield from _summary(data, "as_of", "admissions", "readmissions", "discharges")
    yield from _mapping("open_by_stage", "open", data["open_by_stage"], STAGE_LABELS)
    for row in data["open_by_clinician"]:
        yield _row("open_by_clinician", row["clinician"], "", row["clinician_name"], "open", row["open"])
    yield from _mapping("discharges_by_reason", "discharges", data["discharges_by_reason"], REASON_LABELS)


def retention_table(data: dict[str, Any]) -> Iterator[Row]:
    yield from _summary(data, "cohort_size", "open_cases", "median_length_of_stay_days")
    for row in data["days"]:
        for measure in ("eligible", "retained", "rate"):
            yield _row("days", str(row["day"]), "", f"Day {row['day']}", measure, row[measure])


VISIT_MEASURES = (*COUNTS, "attendance_rate")


def visits_table(data: dict[str, Any]) -> Iterator[Row]:
    for row in data["rows"]:
        label = VISIT_TYPE_LABELS.get(row["visit_type"], row["visit_type"])
        for measure in VISIT_MEASURES:
            yield _row("rows", row["month"], row["visit_type"], label, measure, row[measure])
    for row in data["by_clinician"]:
        for measure in VISIT_MEASURES:
            yield _row("by_clinician", row["clinician"], "", row["clinician_name"], measure, row[measure])


INSTRUMENT_MEASURES = ("cases", "mean_first", "mean_latest", "mean_change", "improved", "improved_share")


def outcomes_table(data: dict[str, Any]) -> Iterator[Row]:
    for row in data["instruments"]:
        label = INSTRUMENT_LABELS.get(row["instrument"], row["instrument"])
        for measure in INSTRUMENT_MEASURES:
            yield _row("instruments", row["instrument"], "", label, measure, row[measure])
    yield from _summary(data, "mitragynine_negative_share", "mitragynine_screens", "mitragynine_negative")
    yield from _mapping("median_days_in_stage", "median_days", data["median_days_in_stage"], STAGE_LABELS)
    yield from _mapping("completed_stays", "stays", data["completed_stays"], STAGE_LABELS)
    yield from _mapping("remission", "cases", data["remission"], REMISSION_LABELS)
