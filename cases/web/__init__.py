"""The staff web pages: server-rendered Django templates, with htmx swapping the fragments that change.

One module per area (`dashboard`, `patients`, `chart`, `visits`, `assessments`, `clinical_record`, `reports`,
`audit_log`), each with its own `urlpatterns`, gathered by `cases.web.urls`. Pages call the same services,
selectors and policy as the API (`cases.services`, `cases.selectors`, `clinic.policy`): no rule is written here.
`cases.web.access` holds what every page shares: 403/404 refusals (audited), the audit of page reads, and service
errors shown on forms.
"""
