"""De-identified reports: small-cell suppression (SPEC section 6, after the CMS cell-size rule).

Every count from 1 to 10 becomes the string "<11" (0 stays 0). A value computed from a small group (a rate,
share, mean or median whose denominator, or whose numerator, is a count from 1 to 10) becomes "suppressed":
shown next to its denominator, a rate would give its small numerator back. Null (nothing to compute) stays null.
Each report's figures are listed here: which are counts, and which derived value rests on which counts; each
report's declaration (`cases/reports/registry.py`) names its function.
"""

from typing import Any

from cases.reports import visits_report

SMALL_CELL = "<11"
SUPPRESSED = "suppressed"


def is_small(count: object) -> bool:
    return isinstance(count, int) and not isinstance(count, bool) and 1 <= count <= 10


def count(value: Any) -> Any:
    return SMALL_CELL if is_small(value) else value


def derived(value: Any, *groups: object) -> Any:
    """`value`, unless it was computed from a group of 1 to 10 (numerator or denominator)."""
    return SUPPRESSED if value is not None and any(is_small(group) for group in groups) else value


def _counts(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: count(value) for key, value in mapping.items()}


def census_suppressed(data: dict[str, Any]) -> dict[str, Any]:
    return {
        **data,
        "open_by_stage": _counts(data["open_by_stage"]),
        "open_by_clinician": [{**row, "open": count(row["open"])} for row in data["open_by_clinician"]],
        **{key: count(data[key]) for key in ("admissions", "readmissions", "discharges")},
        "discharges_by_reason": _counts(data["discharges_by_reason"]),
    }


def retention_suppressed(data: dict[str, Any]) -> dict[str, Any]:
    closed = data["cohort_size"] - data["open_cases"]
    return {
        **data,
        "cohort_size": count(data["cohort_size"]),
        "open_cases": count(data["open_cases"]),
        "days": [
            {
                **row,
                "eligible": count(row["eligible"]),
                "retained": count(row["retained"]),
                "rate": derived(row["rate"], row["retained"], row["eligible"]),
            }
            for row in data["days"]
        ],
        "median_length_of_stay_days": derived(data["median_length_of_stay_days"], closed),
    }


def _visit_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        **{key: count(row[key]) for key in visits_report.COUNTS},
        "attendance_rate": derived(row["attendance_rate"], row["attended"], visits_report.held(row)),
    }


def visits_suppressed(data: dict[str, Any]) -> dict[str, Any]:
    return {
        **data,
        "rows": [_visit_row(row) for row in data["rows"]],
        "by_clinician": [_visit_row(row) for row in data["by_clinician"]],
    }


def _instrument_row(row: dict[str, Any]) -> dict[str, Any]:
    cases = row["cases"]
    return {
        **row,
        "cases": count(cases),
        **{key: derived(row[key], cases) for key in ("mean_first", "mean_latest", "mean_change")},
        "improved": count(row["improved"]),
        "improved_share": derived(row["improved_share"], cases, row["improved"]),
    }


def outcomes_suppressed(data: dict[str, Any]) -> dict[str, Any]:
    stays = data["completed_stays"]
    return {
        **data,
        "instruments": [_instrument_row(row) for row in data["instruments"]],
        "mitragynine_negative_share": derived(
            data["mitragynine_negative_share"], data["mitragynine_screens"], data["mitragynine_negative"]
        ),
        "mitragynine_screens": count(data["mitragynine_screens"]),
        "mitragynine_negative": count(data["mitragynine_negative"]),
        "median_days_in_stage": {
            stage: derived(days, stays[stage]) for stage, days in data["median_days_in_stage"].items()
        },
        "completed_stays": _counts(stays),
        "remission": _counts(data["remission"]),
    }
