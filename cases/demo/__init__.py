"""The demo clinic (`manage.py seed_demo`), out of the domain: fictional patients with about a year of history,
reproducible from a seed. `generator.DemoGenerator` draws the patients and their cases' timelines;
`history.CaseHistory` builds one case from a part per record type (`visits`, `stages`, `assessments`,
`medications`, `labs`, `goals`, `events`) on `case.CaseBase`; `alerts` runs the domain's alert rules on the recent
records and settles them; `part2` adds 42 CFR Part 2 consents and releases through the services; `common` holds
the rows, plans and calendar they share, `data` the vocabulary."""
