"""Record release (SPEC section 13): one selection of a patient's records by released category, made into a FHIR R4
Bundle or a printable summary, both labelled for 42 CFR Part 2."""
