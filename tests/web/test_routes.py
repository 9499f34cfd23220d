"""The pages' routes and the API's live side by side in one URL map."""

from django.urls import URLPattern, URLResolver

from api.urls import urlpatterns as api_patterns
from cases.web.urls import urlpatterns as page_patterns


def _names(patterns: list[URLPattern | URLResolver]) -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names |= _names(pattern.url_patterns)
        elif pattern.name:
            names.add(pattern.name)
    return names


def test_no_page_shares_a_route_name_with_the_api():
    # reverse() would silently hand a page the API's address (the router's names are `<basename>-<action>`).
    assert _names(page_patterns) & _names(api_patterns) == set()
