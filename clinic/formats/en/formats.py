"""The one way staff pages write dates and times (issue 15): ISO dates and a 24-hour clock, the format most pages
already used. Django reads these through `FORMAT_MODULE_PATH` for `{{ value|date }}`,
`{{ value|date:"DATETIME_FORMAT" }}`, `{{ value|time }}`, an unfiltered `{{ value }}`, the admin, and
`django.utils.formats.date_format` in Python; nothing else names a format. Input formats stay Django's."""

DATE_FORMAT = "Y-m-d"  # 2026-12-03
DATETIME_FORMAT = "Y-m-d H:i"  # 2026-12-03 14:30, in the clinic's zone
TIME_FORMAT = "H:i"  # 14:30
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
YEAR_MONTH_FORMAT = "Y-m"  # 2026-12
MONTH_DAY_FORMAT = "m-d"
