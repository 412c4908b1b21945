"""Hand-over of a redacted dossier (WF-4, CF-3): a form, then a download. Thin: the work is in
casework/handover.py."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy

from casework.access import access_case
from casework.export_views import MAX_REDACTIONS_TEXT, ExportForm, _download_headers
from casework.handover import MAX_RECIPIENT, case_hand_over
from casework.models import Handover
from casework.services import WorkflowError
from casework.views import _case_key
from intake import services as intake_services
from intake.models import Case
from whistle.accounts.decorators import staff_required
from whistle.http import StaffRequest


class HandoverForm(forms.Form):
    recipient = forms.CharField(
        label=gettext_lazy("Recipient (name of the unit, authority or person)"),
        max_length=MAX_RECIPIENT,
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("The recipient is"),
        widget=forms.RadioSelect,
        choices=Handover.Kind.choices,
    )
    redactions = forms.CharField(
        label=gettext_lazy("Names and phrases to black out"),
        required=False,
        max_length=MAX_REDACTIONS_TEXT,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}),
        help_text=gettext_lazy(
            "One per line: the names of people accused or mentioned, addresses, anything that "
            "identifies someone. The reporter's contact details are blacked out without being "
            "entered here. Upper and lower case do not matter."
        ),
    )
    with_conversation = forms.BooleanField(
        label=gettext_lazy("Include the conversation with the reporter (redacted)"),
        required=False,
    )
    with_notes = forms.BooleanField(
        label=gettext_lazy("Include the internal notes (redacted)"), required=False
    )
    include_files = forms.MultipleChoiceField(
        label=gettext_lazy("Files to include"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    files_not_redacted = forms.BooleanField(
        label=gettext_lazy(
            "I have checked each file I ticked: its contents are handed over as they are, "
            "not redacted."
        ),
        required=False,
    )

    # The same rules as for the export: a phrase too short or too long is refused, not skipped.
    clean_redactions = ExportForm.clean_redactions

    def __init__(self, *args: Any, file_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["include_files"]).choices = file_choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("include_files") and not data.get("files_not_redacted"):
            raise ValidationError(
                gettext_lazy(
                    "You ticked files: confirm that you know their contents are not redacted, "
                    "or untick them."
                )
            )
        return data


def _file_choices(case: Case, key: bytes) -> list[tuple[str, str]]:
    return [
        (str(v.attachment.public_id), str(v.meta.get("name", "")))
        for v in intake_services.case_attachments(case=case, case_key=key)
    ]


def _file_name(case: Case, extension: str) -> str:
    return f"dossier-{case.received_on.isoformat()}-{str(case.public_id)[:8]}.{extension}"


@staff_required
def handover_view(request: StaffRequest, office_id: str, case_id: str) -> HttpResponse:
    """GET: the hand-over form. POST: the redacted dossier as a download, recorded."""
    membership, case = access_case(user=request.user, office_id=office_id, case_id=case_id)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    key = _case_key(request, case)
    if key is None:
        return render(request, "casework/no_access.html", {"office": membership.office}, status=403)
    form = HandoverForm(
        request.POST if request.method == "POST" else None, file_choices=_file_choices(case, key)
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            dossier = case_hand_over(
                case=case,
                actor=request.user,
                case_key=key,
                recipient=data["recipient"],
                kind=data["kind"],
                redactions=data["redactions"],
                file_ids=list(data["include_files"]),
                with_conversation=data["with_conversation"],
                with_notes=data["with_notes"],
            )
        except WorkflowError as error:
            form.add_error(None, str(error))
        else:
            if dossier.spool is not None:
                # FileResponse streams the spool chunk by chunk and closes it (dropping its key).
                zipped: HttpResponse = FileResponse(  # type: ignore[assignment]
                    dossier.spool,
                    as_attachment=True,
                    filename=_file_name(case, "zip"),
                    content_type="application/zip",
                )
                return _download_headers(zipped)
            response = HttpResponse(dossier.pdf, content_type="application/pdf")
            response["Content-Disposition"] = content_disposition_header(
                True, _file_name(case, "pdf")
            )
            return _download_headers(response)
    return render(
        request,
        "casework/handover.html",
        {"office": membership.office, "case": case, "form": form},
    )
