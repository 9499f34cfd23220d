"""The sign-in forms of the staff pages and of the admin: password under the lockout, then a one-time code for
the roles in MFA_REQUIRED_ROLES (the rule itself is `clinic.signin`)."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm

from clinic.signin import SignInRefused, check_password, check_second_factor


class SecondFactorMixin(forms.Form):
    """Adds the `otp` field (shown whenever some role needs it: the form cannot know the user's roles before the
    username is checked) and signs in through `clinic.signin` instead of a bare `authenticate()`."""

    user_cache: Any  # the signed-in user, as AuthenticationForm keeps it

    otp = forms.CharField(
        label="One-time code",
        required=False,
        max_length=12,
        strip=True,
        help_text="The 6-digit code from your authenticator app, if your role signs in with one.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not settings.MFA_REQUIRED_ROLES:
            del self.fields["otp"]

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            request = self.request  # type: ignore[attr-defined]
            try:
                user = check_password(request=request, username=username, password=password)
                self.confirm_login_allowed(user)  # type: ignore[attr-defined]
                device = check_second_factor(
                    request=request, user=user, otp=self.cleaned_data.get("otp", ""), enrolment_allowed=True
                )  # no device yet: signed in to the enrolment step only (clinic.enrolment)
            except SignInRefused as refusal:
                raise forms.ValidationError(refusal.message, code=refusal.code) from refusal
            if device is not None:
                user.otp_device = device  # type: ignore[attr-defined] # django-otp records it in the session at login
            self.user_cache = user
        return self.cleaned_data


class ClinicLoginForm(SecondFactorMixin, AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # After an idle sign-out (session.js adds `idle`) the user may still be typing their note: those keystrokes
        # must not land in the username (and from there in the audit of a failed sign-in).
        if self.request is not None and "idle" in self.request.GET:
            self.fields["username"].widget.attrs.pop("autofocus", None)
