"""Forms of the tenant settings and of the set-up wizard's organisation step."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.branding import LogoError, accent_problem, logo_clean
from intake.texts import privacy_generated
from whistle.tenants.models import (
    EXTERNAL_CHANNELS,
    REPORTER_GROUPS,
    Tenant,
    accent_validator,
    hostname_validator,
)


def language_names() -> dict[str, str]:
    return {code: str(name) for code, name in settings.LANGUAGES}


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


class OrganisationForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name of the organisation"), max_length=200)
    languages = forms.MultipleChoiceField(
        label=gettext_lazy("Languages of the reporting page"),
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("At least one. Reporters can switch between them."),
    )
    accent_colour = forms.CharField(
        label=gettext_lazy("Accent colour (optional)"),
        max_length=7,
        required=False,
        help_text=gettext_lazy(
            "As # and six hexadecimal digits, such as #1a5fb4. It must be dark enough for "
            "white text (contrast at least 4.5 : 1)."
        ),
    )
    logo = forms.FileField(
        label=gettext_lazy("Logo (optional)"),
        required=False,
        help_text=gettext_lazy("PNG, JPEG, WebP or GIF, at most 1 MB."),
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}
        ),
    )
    remove_logo = forms.BooleanField(label=gettext_lazy("Remove the logo"), required=False)

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        self.tenant = tenant
        kwargs.setdefault(
            "initial",
            {
                "name": tenant.name,
                "languages": list(tenant.languages),
                "accent_colour": tenant.accent_colour,
            },
        )
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["languages"]).choices = list(
            language_names().items()
        )
        if not tenant.logo:
            del self.fields["remove_logo"]

    def clean_accent_colour(self) -> str:
        colour = str(self.cleaned_data.get("accent_colour") or "").strip().lower()
        if not colour:
            return ""
        if not colour.startswith("#"):
            colour = f"#{colour}"
        accent_validator(colour)
        problem = accent_problem(colour)
        if problem:
            raise ValidationError(problem)
        return colour

    def clean_languages(self) -> list[str]:
        chosen = [code for code in language_names() if code in self.cleaned_data["languages"]]
        missing = missing_intro(self.tenant.texts, chosen)
        if missing:
            raise ValidationError(
                _(
                    "Your own introduction text is missing in %(languages)s. Write it under "
                    "“Texts” first, then enable the language."
                )
                % {"languages": ", ".join(language_names()[code] for code in missing)}
            )
        return chosen

    def clean_logo(self) -> Any:
        upload = self.cleaned_data.get("logo")
        if not upload:
            return None
        try:
            return logo_clean(upload)
        except LogoError as error:
            raise ValidationError(str(error)) from None


class SetupOrganisationForm(OrganisationForm):
    """The wizard's first step also asks for the controller's address: the privacy notice
    cannot be generated without it."""

    controller_address = forms.CharField(
        label=gettext_lazy("Postal address of the organisation (for the privacy notice)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, tenant=tenant, **kwargs)
        self.initial.setdefault("controller_address", tenant.controller_address)


def missing_intro(texts: Any, languages: list[str]) -> list[str]:
    """Languages among ``languages`` without their own introduction while another language
    has one: an enabled language needs its texts in every case."""
    own = {code for code in language_names() if _entry(texts, code).get("intro")}
    if not own:
        return []
    return [code for code in languages if code not in own]


def _entry(texts: Any, language: str) -> dict[str, Any]:
    entry = texts.get(language) if isinstance(texts, dict) else None
    return entry if isinstance(entry, dict) else {}


class PrivacyForm(forms.Form):
    controller_name = forms.CharField(
        label=gettext_lazy("Controller (data protection)"),
        max_length=200,
        required=False,
        help_text=gettext_lazy(
            "Who is responsible for processing reports; empty means the organisation."
        ),
    )
    controller_address = forms.CharField(
        label=gettext_lazy("Controller's postal address"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
    )
    privacy_contact = forms.CharField(
        label=gettext_lazy("Data protection officer (contact, optional)"),
        max_length=300,
        required=False,
    )
    external_channels = forms.MultipleChoiceField(
        label=gettext_lazy("External reporting channels named on the reporting page"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    own_channels = forms.CharField(
        label=gettext_lazy("Further external channels, such as your Land's external office"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=gettext_lazy(
            "One per line: name, a vertical bar and the web address, for example: "
            "Externe Meldestelle des Landes | https://meldestelle.example.de"
        ),
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        own = "\n".join(
            f"{c.get('name', '')} | {c.get('url', '')}".rstrip(" |") for c in tenant.own_channels
        )
        kwargs.setdefault(
            "initial",
            {
                "controller_name": tenant.controller_name,
                "controller_address": tenant.controller_address,
                "privacy_contact": tenant.privacy_contact,
                "external_channels": list(tenant.external_channels),
                "own_channels": own,
            },
        )
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["external_channels"]).choices = [
            (key, label) for key, label in EXTERNAL_CHANNELS.items()
        ]

    def clean_own_channels(self) -> list[dict[str, str]]:
        channels = []
        check = URLValidator(schemes=["https", "http"])
        for number, line in enumerate(str(self.cleaned_data["own_channels"]).splitlines(), 1):
            if not line.strip():
                continue
            name, _bar, url = (part.strip() for part in line.partition("|"))
            if not name or len(name) > 300:
                raise ValidationError(_("Line %(n)s: the name is missing.") % {"n": number})
            if url:
                try:
                    check(url)
                except ValidationError:
                    raise ValidationError(
                        _("Line %(n)s: “%(url)s” is not a web address (https://…).")
                        % {"n": number, "url": url}
                    ) from None
            channels.append({"name": name, "url": url})
        return channels

    def clean_external_channels(self) -> list[str]:
        chosen = self.cleaned_data["external_channels"]
        return [key for key in EXTERNAL_CHANNELS if key in chosen]


class ReportingForm(forms.Form):
    reporter_groups = forms.MultipleChoiceField(
        label=gettext_lazy("Who may report"),
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "Employees are always included. The law (HinSchG § 3(8)) also covers the others; "
            "tick whom this channel is open to."
        ),
    )
    retention_years = forms.IntegerField(label=gettext_lazy("Keep closed cases (years)"))
    retention_years_out_of_scope = forms.IntegerField(
        label=gettext_lazy("Keep cases closed as out of scope (years, optional)"), required=False
    )
    max_file_mb = forms.IntegerField(label=gettext_lazy("Largest file (MB)"), min_value=1)
    max_case_mb = forms.IntegerField(
        label=gettext_lazy("All files of one report (MB)"), min_value=1
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "reporter_groups": list(tenant.reporter_groups),
                "retention_years": tenant.retention_years,
                "retention_years_out_of_scope": tenant.retention_years_out_of_scope,
                "max_file_mb": tenant.max_file_mb,
                "max_case_mb": tenant.max_case_mb,
            },
        )
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["reporter_groups"]).choices = list(
            REPORTER_GROUPS.items()
        )
        low, high = settings.RETENTION_MIN_YEARS, settings.RETENTION_MAX_YEARS
        bounds = _("Between %(low)s and %(high)s years (the operator's bounds).") % {
            "low": low,
            "high": high,
        }
        for name in ("retention_years", "retention_years_out_of_scope"):
            field = cast(forms.IntegerField, self.fields[name])
            field.min_value, field.max_value = low, high
            field.validators = []
            field.help_text = bounds
        self.fields["max_file_mb"].help_text = _("At most %(mb)s MB.") % {
            "mb": settings.WHISTLE_MAX_FILE_MB
        }
        self.fields["max_case_mb"].help_text = _("At most %(mb)s MB.") % {
            "mb": settings.TENANT_MAX_CASE_MB
        }

    def _bounded(self, name: str, low: int, high: int) -> int | None:
        value = self.cleaned_data.get(name)
        if value is not None and not low <= value <= high:
            raise ValidationError(
                _("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high}
            )
        return cast(int | None, value)

    def clean_retention_years(self) -> int | None:
        return self._bounded(
            "retention_years", settings.RETENTION_MIN_YEARS, settings.RETENTION_MAX_YEARS
        )

    def clean_retention_years_out_of_scope(self) -> int | None:
        return self._bounded(
            "retention_years_out_of_scope",
            settings.RETENTION_MIN_YEARS,
            settings.RETENTION_MAX_YEARS,
        )

    def clean_max_file_mb(self) -> int | None:
        return self._bounded("max_file_mb", 1, settings.WHISTLE_MAX_FILE_MB)

    def clean_max_case_mb(self) -> int | None:
        return self._bounded("max_case_mb", 1, settings.TENANT_MAX_CASE_MB)

    def clean_reporter_groups(self) -> list[str]:
        chosen = set(self.cleaned_data["reporter_groups"]) | {"staff"}
        return [group for group in REPORTER_GROUPS if group in chosen]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        years, shorter = data.get("retention_years"), data.get("retention_years_out_of_scope")
        if years is not None and shorter is not None and shorter > years:
            self.add_error(
                "retention_years_out_of_scope",
                _("This period cannot be longer than the one for other closed cases."),
            )
        file_mb, case_mb = data.get("max_file_mb"), data.get("max_case_mb")
        if file_mb is not None and case_mb is not None and case_mb < file_mb:
            self.add_error(
                "max_case_mb", _("All files of one report must allow at least the largest file.")
            )
        return data


class TextsForm(forms.Form):
    """Per language: the landing page's introduction and the privacy notice. The notice is
    prefilled with the generated one; only a changed notice is stored as the tenant's own."""

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.languages = list(language_names().items())
        for code, name in self.languages:
            entry = _entry(tenant.texts, code)
            enabled = code in tenant.languages
            suffix = "" if enabled else " " + _("(not enabled)")
            self.fields[f"intro_{code}"] = forms.CharField(
                label=_("Introduction (%(language)s)") % {"language": name} + suffix,
                widget=forms.Textarea(attrs={"rows": 3}),
                required=False,
                max_length=3000,
                initial=entry.get("intro", ""),
                help_text=_("Empty: the standard introduction."),
            )
            self.fields[f"privacy_{code}"] = forms.CharField(
                label=_("Privacy notice (%(language)s)") % {"language": name} + suffix,
                widget=forms.Textarea(attrs={"rows": 12}),
                required=False,
                max_length=20000,
                initial=entry.get("privacy") or privacy_generated(tenant, code),
                help_text=_(
                    "Generated from your settings. Your changes replace the generated notice "
                    "until you regenerate it."
                ),
            )

    def pairs(self) -> list[tuple[str, str, forms.BoundField, forms.BoundField, bool]]:
        return [
            (
                code,
                name,
                self[f"intro_{code}"],
                self[f"privacy_{code}"],
                bool(_entry(self.tenant.texts, code).get("privacy")),
            )
            for code, name in self.languages
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        texts: dict[str, dict[str, str]] = {}
        for code, _name in self.languages:
            intro = str(data.get(f"intro_{code}") or "").strip()
            privacy = str(data.get(f"privacy_{code}") or "").strip()
            if privacy and _same_text(privacy, privacy_generated(self.tenant, code)):
                privacy = ""  # unchanged: keep following the settings
            entry = {key: value for key, value in (("intro", intro), ("privacy", privacy)) if value}
            if entry:
                texts[code] = entry
        missing = missing_intro(texts, list(self.tenant.languages))
        for code in missing:
            self.add_error(
                f"intro_{code}",
                _("Every enabled language needs its introduction once one language has its own."),
            )
        data["texts"] = texts
        return data


class HostnameForm(forms.Form):
    hostname = forms.CharField(
        label=gettext_lazy("Host name"),
        max_length=253,
        validators=[hostname_validator],
        help_text=gettext_lazy("For example meldestelle.example.de, in lower case."),
    )

    def clean_hostname(self) -> str:
        return str(self.cleaned_data["hostname"]).strip().lower().rstrip(".")
