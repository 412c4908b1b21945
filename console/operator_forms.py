"""Forms of the operator console."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from whistle.tenants.models import hostname_validator


class TenantCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name of the organisation"),
        max_length=200,
        help_text=_("As reporters will see it, for example “Stadt Musterstadt”."),
    )
    slug = forms.SlugField(
        label=_("Short name in the address"),
        max_length=63,
        help_text=_("Lower-case letters, digits and hyphens; the reporting page is /t/<name>/."),
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages"),
        choices=settings.LANGUAGES,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The first one ticked in this list is the organisation's main language."),
    )
    admin_email = forms.EmailField(
        label=_("E-mail address of the first administrator"),
        help_text=_("This person receives an invitation link and sets up everything else."),
    )

    def clean_slug(self) -> str:
        return str(self.cleaned_data["slug"]).lower()


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))


class HostnameForm(forms.Form):
    hostname = forms.CharField(
        label=_("Host name"),
        max_length=253,
        help_text=_(
            "Add it only after you have checked that its DNS record points to this service."
        ),
    )

    def clean_hostname(self) -> str:
        value = str(self.cleaned_data["hostname"]).strip().lower().rstrip(".")
        hostname_validator(value)
        return value
