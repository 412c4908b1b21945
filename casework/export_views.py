"""Exporting a case file (DOC-1) with redaction (CF-3): a form, then a download. Thin: the
work is in casework/export.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy, ngettext

from casework.access import access_case
from casework.export import (
    MAX_PHRASE_LENGTH,
    MAX_PHRASES,
    MIN_PHRASE_LENGTH,
    case_export_pdf,
    case_export_zip,
    clean_phrases,
)
from casework.views import _case_key
from intake.models import Case
from whistle.accounts.decorators import staff_required
from whistle.accounts.models import User
from whistle.http import StaffRequest

FORMAT_PDF = "pdf"
FORMAT_ZIP = "zip"
MAX_REDACTIONS_TEXT = 20_000


class ExportForm(forms.Form):
    redactions = forms.CharField(
        label=gettext_lazy("Names and phrases to black out"),
        required=False,
        max_length=MAX_REDACTIONS_TEXT,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}),
        help_text=gettext_lazy(
            "One per line: the reporter's name, the names of people accused or mentioned, "
            "addresses, anything that identifies someone. Upper and lower case do not matter, "
            "and a phrase is also blacked out inside longer words."
        ),
    )
    format = forms.ChoiceField(
        label=gettext_lazy("What to download"),
        widget=forms.RadioSelect,
        initial=FORMAT_PDF,
        choices=[
            (FORMAT_PDF, gettext_lazy("PDF only (recommended)")),
            (FORMAT_ZIP, gettext_lazy("ZIP with the PDF and the files (files are NOT redacted)")),
        ],
    )

    def clean_redactions(self) -> list[str]:
        """The phrases, one per line; too short or too long ones are refused, not skipped:
        a handler must never believe something is blacked out when it is not."""
        phrases = clean_phrases(self.cleaned_data.get("redactions", "").splitlines())
        errors = []
        if len(phrases) > MAX_PHRASES:
            errors.append(
                ngettext(
                    "Enter at most %(count)d phrase.",
                    "Enter at most %(count)d phrases.",
                    MAX_PHRASES,
                )
                % {"count": MAX_PHRASES}
            )
        if any(len(p) < MIN_PHRASE_LENGTH for p in phrases):
            errors.append(
                ngettext(
                    "Each phrase needs at least %(count)d character.",
                    "Each phrase needs at least %(count)d characters.",
                    MIN_PHRASE_LENGTH,
                )
                % {"count": MIN_PHRASE_LENGTH}
            )
        if any(len(p) > MAX_PHRASE_LENGTH for p in phrases):
            errors.append(
                ngettext(
                    "A phrase may have at most %(count)d character.",
                    "A phrase may have at most %(count)d characters.",
                    MAX_PHRASE_LENGTH,
                )
                % {"count": MAX_PHRASE_LENGTH}
            )
        if errors:
            raise ValidationError(errors)
        return phrases


def _file_name(case: Case, extension: str) -> str:
    return f"case-{case.reference or case.received_on.isoformat()}.{extension}"


def _download_headers(response: HttpResponse) -> HttpResponse:
    # Only ever a download, never rendered in our origin, never kept by a cache.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _download(case: Case, key: bytes, actor: User, data: dict[str, Any]) -> HttpResponse:
    redactions: list[str] = data["redactions"]
    if data["format"] == FORMAT_ZIP:
        spool = case_export_zip(case=case, case_key=key, actor=actor, redactions=redactions)
        # FileResponse streams the spool chunk by chunk and closes it (dropping its key).
        zipped: HttpResponse = FileResponse(  # type: ignore[assignment]
            spool,
            as_attachment=True,
            filename=_file_name(case, "zip"),
            content_type="application/zip",
        )
        return _download_headers(zipped)
    pdf = case_export_pdf(case=case, case_key=key, actor=actor, redactions=redactions)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, _file_name(case, "pdf"))
    return _download_headers(response)


@staff_required
def export_view(request: StaffRequest, office_id: str, case_id: str) -> HttpResponse:
    """GET: the export form. POST: the redacted PDF (or ZIP) as a download, audited."""
    membership, case = access_case(user=request.user, office_id=office_id, case_id=case_id)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    key = _case_key(request, case)
    if key is None:
        return render(request, "casework/no_access.html", {"office": membership.office}, status=403)
    form = ExportForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        return _download(case, key, request.user, form.cleaned_data)
    return render(
        request,
        "casework/export.html",
        {"office": membership.office, "case": case, "form": form},
    )
