from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        widget=forms.EmailInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The 6-digit code from your authenticator app, or one of your recovery codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code from the app"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class RecoveryCodesForm(forms.Form):
    """New recovery codes need the password again: an open session alone is not enough."""

    recovery_password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class NoticesForm(forms.Form):
    new_report_notices = forms.ChoiceField(
        label=_("When a new report arrives in one of my offices, tell me"),
        widget=forms.RadioSelect,
        choices=[],
        help_text=_(
            "The e-mail names only the office and links to its inbox. Reports that arrive in a "
            "suspected flood always come in the daily summary."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from whistle.accounts.models import User

        field = self.fields["new_report_notices"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 (declared above)
        field.choices = User.NewReportNotices.choices
