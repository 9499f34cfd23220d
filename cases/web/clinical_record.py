"""Placeholder: filled in by the web pages work."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
