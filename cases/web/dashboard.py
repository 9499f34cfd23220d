"""Placeholder dashboard (the old home page) until the role dashboards land."""

from django.urls import path

from clinic.views import home

urlpatterns = [path("", home, name="home")]
