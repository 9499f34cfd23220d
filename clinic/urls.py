"""Top-level URL map: staff pages, the REST API under /api/, the Django admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from clinic import enrolment, views
from clinic.forms import ClinicLoginForm

urlpatterns = [
    path("", include("cases.web.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=ClinicLoginForm), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/keepalive/", views.keepalive, name="keepalive"),
    # The one-time link of a password reset (clinic/approvals.py): the owner sets a new password, nobody else.
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url=reverse_lazy("login")),
        name="password_reset_confirm",
    ),
    path("accounts/authenticator/", enrolment.enrol, name="authenticator-enrol"),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
]

# /healthz and /readyz are answered by clinic.health.HealthCheckMiddleware, before any URL is resolved.

handler400 = "clinic.errors.bad_request"  # JSON under /api/, a page elsewhere, with the request id
handler403 = "clinic.views.permission_denied"  # the refusal's reason, as a page or (htmx) as plain text
handler404 = "clinic.errors.page_not_found"  # JSON under /api/, the site's page elsewhere
handler500 = "clinic.errors.server_error"  # 503 with Retry-After when the database is unavailable
