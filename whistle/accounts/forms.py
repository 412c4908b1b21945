from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from whistle.accounts.models import User


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


class InvitationPasswordForm(forms.Form):
    """The invitee's own name and password; the password validators judge it against the
    account that will have it."""

    name = forms.CharField(
        label=_("Your name"),
        max_length=200,
        required=False,
        help_text=_("Shown to your colleagues. You may leave it empty."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    new_password1 = forms.CharField(
        label=_("Choose a password"),
        strip=False,
        help_text=_("At least 12 characters; not a common password and not like your address."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=_("The same password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, email: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("new_password1"), data.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", _("The two passwords are not the same."))
        elif first:
            user = User(email=self.email, name=data.get("name", ""))
            try:
                password_validation.validate_password(first, user)
            except ValidationError as exc:
                self.add_error("new_password1", exc)
        return data


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
