"""Writing a report: choose office and category, answer the steps, attach files, optional
contact details, check, send, receipt. Works without JavaScript; nothing typed is lost on a
validation error, on going back or when the draft expired."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

import crypto
from intake import flood, services
from intake.access import access_questionnaire, access_reporter_office
from intake.attachments import (
    StorageFullError,
    attachment_discard,
    attachment_receive,
    storage_full_message,
    upload_problems,
)
from intake.drafts import Draft, draft_clear, draft_get, draft_save, draft_start
from intake.models import Questionnaire
from intake.questionnaire import (
    Definition,
    Step,
    StepForm,
    answers_from_form,
    initial_for,
    localised,
    render_answers,
)
from intake.services import Submission
from intake.views.common import ready_offices, reporter_tenant
from whistle.http import TenantRequest
from whistle.i18n import remember_language
from whistle.tenants.models import Office, Tenant

HONEYPOT = "website"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    steps: list[tuple[str, str]]  # (id, title)
    current: int

    @property
    def number(self) -> int:
        return self.current + 1

    @property
    def total(self) -> int:
        return len(self.steps)


def _progress(definition: Definition, current: str) -> Progress:
    steps = [("start", str(_("Topic")))]
    steps += [(s.id, localised(s.title)) for s in definition.steps]
    steps += [("contact", str(_("Contact"))), ("check", str(_("Check and send")))]
    index = next(i for i, (sid, _title) in enumerate(steps) if sid == current)
    return Progress(steps=steps, current=index)


def _questionnaire(tenant: Tenant, draft: Draft | None) -> Questionnaire:
    if draft is not None and draft.questionnaire_version:
        found = access_questionnaire(tenant=tenant, version=draft.questionnaire_version)
        if found is not None:
            return found
    return services.questionnaire_current(tenant)


def _expired(request: TenantRequest, *, kept: bool) -> None:
    if kept:
        text = _(
            "Your unfinished report was no longer available: for your protection after a long "
            "pause, or because your browser does not keep cookies for this page. What you "
            "entered on this page has been kept; please choose the topic again and check the "
            "other steps."
        )
    else:
        text = _(
            "Your unfinished report was no longer available: for your protection after a long "
            "pause, or because your browser does not keep cookies for this page. Please start "
            "again."
        )
    messages.warning(request, text)


# --- start: office and category ---------------------------------------------------------------


class StartForm(forms.Form):
    category = forms.ChoiceField(
        label=gettext_lazy("What is your report about?"), widget=forms.RadioSelect
    )
    office = forms.ChoiceField(
        label=gettext_lazy("Who should receive your report?"),
        widget=forms.RadioSelect,
        required=False,
    )

    def __init__(
        self, *args: Any, definition: Definition, offices: list[Office], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        category = cast(forms.ChoiceField, self.fields["category"])
        category.choices = [(c.id, localised(c.label)) for c in definition.categories]
        self.descriptions = {
            c.id: localised(c.description) for c in definition.categories if c.description
        }
        if len(offices) > 1:
            office = cast(forms.ChoiceField, self.fields["office"])
            office.required = True
            office.choices = [
                (str(o.public_id), f"{o.name}: {o.description}" if o.description else o.name)
                for o in offices
            ]
        else:
            del self.fields["office"]


def start_view(request: TenantRequest) -> HttpResponse:
    tenant = reporter_tenant(request)
    offices = ready_offices(tenant)
    if not offices:
        return render(request, "intake/not_ready.html", status=503)
    draft = draft_get(request, tenant_id=str(tenant.public_id))
    if draft is not None and (committed := _committed(draft)) is not None:
        return committed
    questionnaire = _questionnaire(tenant, draft)
    definition = services.definition_of(questionnaire)
    initial = {"category": draft.category, "office": draft.office_id} if draft else {}
    form = StartForm(request.POST or None, initial=initial, definition=definition, offices=offices)
    if request.method == "POST" and form.is_valid():
        if draft is None:
            draft = draft_start(request, tenant_id=str(tenant.public_id))
        draft.questionnaire_version = questionnaire.version
        draft.category = form.cleaned_data["category"]
        draft.office_id = form.cleaned_data.get("office") or str(offices[0].public_id)
        _complete(draft, "start")
        draft_save(request, draft)
        return redirect("intake:step", step_id=definition.steps[0].id)
    return render(
        request,
        "intake/report_start.html",
        start_page_context(form=form, definition=definition),
    )


def _restart_keeping_page(request: TenantRequest, tenant: Tenant, step_id: str) -> None:
    """The draft is gone (browser closed, cookies lost): start a new one with what was just
    posted on this page, so the reporter does not have to type it again."""
    definition = services.definition_of(services.questionnaire_current(tenant))
    index = definition.step_index(step_id)
    draft = draft_start(request, tenant_id=str(tenant.public_id))
    if index is not None:
        _keep_raw_answers(draft, definition.steps[index], request.POST)
        draft_save(request, draft)
    _expired(request, kept=index is not None)


def _complete(draft: Draft, step_id: str) -> None:
    if step_id not in draft.completed_steps:
        draft.completed_steps.append(step_id)


def _require_draft(request: TenantRequest, tenant: Tenant) -> Draft | None:
    draft = draft_get(request, tenant_id=str(tenant.public_id))
    if draft is None or "start" not in draft.completed_steps:
        return None
    return draft


# --- questionnaire steps ----------------------------------------------------------------------


def step_view(request: TenantRequest, step_id: str) -> HttpResponse:
    tenant = reporter_tenant(request)
    draft = _require_draft(request, tenant)
    if draft is None:
        if request.method == "POST":
            _restart_keeping_page(request, tenant, step_id)
        return redirect("intake:start")
    if (committed := _committed(draft)) is not None:
        return committed
    definition = services.definition_of(_questionnaire(tenant, draft))
    index = definition.step_index(step_id)
    if index is None:
        raise Http404
    step = definition.steps[index]
    if draft.mark_seen(step.id):
        draft_save(request, draft)
    next_step = definition.steps[index + 1].id if index + 1 < len(definition.steps) else None
    file_errors: list[str] = []
    if request.method == "POST":
        action = request.POST.get("action", "continue")
        file_errors = _receive_files(request, tenant, draft, step)
        if action.startswith("remove:"):
            attachment_discard(draft, action.removeprefix("remove:"))
            _keep_raw_answers(draft, step, request.POST)
            draft_save(request, draft)
            return redirect("intake:step", step_id=step.id)
        if action == "language":
            # The language switch on this page sends the step's form: keep what was typed.
            _keep_raw_answers(draft, step, request.POST)
            draft_save(request, draft)
            response = redirect("intake:step", step_id=step.id)
            remember_language(
                response, request.POST.get("switch_language", ""), allowed=tenant.languages
            )
            return response
        if action == "back":
            _keep_raw_answers(draft, step, request.POST)
            draft_save(request, draft)
            if index == 0:
                return redirect("intake:start")
            return redirect("intake:step", step_id=definition.steps[index - 1].id)
        form = StepForm(
            step,
            definition,
            data=request.POST,
            answers_so_far=draft.answers,
            uploaded={q.id for q in step.questions if draft.files_for(q.id)},
        )
        if form.is_valid() and not file_errors and action != "upload":
            for question in step.questions:
                draft.answers.pop(question.id, None)
            draft.answers.update(answers_from_form(step, form))
            _complete(draft, step.id)
            draft_save(request, draft)
            if next_step is None:
                return redirect("intake:contact")
            return redirect("intake:step", step_id=next_step)
        _keep_raw_answers(draft, step, request.POST)
        draft_save(request, draft)
        if action == "upload" and not file_errors:
            # Files added: show the step again with what was typed, without complaining about
            # questions not answered yet.
            form = StepForm(step, definition, initial=initial_for(step, draft.answers))
    else:
        form = StepForm(step, definition, initial=initial_for(step, draft.answers))
    return render(
        request,
        "intake/report_step.html",
        step_page_context(
            tenant=tenant,
            definition=definition,
            step=step,
            form=form,
            draft=draft,
            file_errors=file_errors,
        ),
    )


def step_page_context(
    *,
    tenant: Tenant,
    definition: Definition,
    step: Step,
    form: forms.Form,
    draft: Draft | None,
    file_errors: list[str],
) -> dict[str, Any]:
    """What ``intake/report_step.html`` shows; shared with the questionnaire editor's preview
    (console), so that the preview is the reporter's page."""
    return {
        "form": form,
        "step": step,
        "step_title": localised(step.title),
        "step_intro": localised(step.intro) if step.intro else "",
        "progress": _progress(definition, step.id),
        "draft": draft,
        "file_questions": {q.id for q in step.questions if q.type == "file"},
        "file_errors": file_errors,
        "limits": {"file": tenant.max_file_mb, "case": tenant.max_case_mb},
        "conditions": {
            q.id: {"question": q.show_if.question, "values": [str(v) for v in q.show_if.values]}
            for q in step.questions
            if q.show_if is not None
        },
    }


def start_page_context(*, form: StartForm, definition: Definition) -> dict[str, Any]:
    """What ``intake/report_start.html`` shows (shared with the editor's preview)."""
    return {"form": form, "progress": _progress(definition, "start")}


def _keep_raw_answers(draft: Draft, step: Step, data: Any) -> None:
    """Keep what was typed, valid or not, so nothing is lost on errors or going back."""
    for question in step.questions:
        if question.type == "file":
            continue
        if question.type == "multiple_choice":
            values = data.getlist(question.id)
            if values:
                draft.answers[question.id] = values
            else:
                draft.answers.pop(question.id, None)
        elif question.type == "checkbox":
            if data.get(question.id):
                draft.answers[question.id] = True
            else:
                draft.answers.pop(question.id, None)
        else:
            value = data.get(question.id, "")
            if value:
                draft.answers[question.id] = value
            else:
                draft.answers.pop(question.id, None)


def _receive_files(request: TenantRequest, tenant: Tenant, draft: Draft, step: Step) -> list[str]:
    errors = upload_problems(request)
    for question in step.questions:
        if question.type != "file":
            continue
        for upload in request.FILES.getlist(question.id):
            limit = tenant.max_case_mb * 1024 * 1024
            if draft.total_file_bytes() + (upload.size or 0) > limit:
                errors.append(
                    _(
                        "“%(name)s” was not added: all files of one report together may be at most "
                        "%(mb)s MB."
                    )
                    % {"name": upload.name, "mb": tenant.max_case_mb}
                )
                continue
            try:
                received = attachment_receive(
                    tenant=tenant,
                    case_id=draft.case_id,
                    case_key=draft.key,
                    upload=upload,
                    question=question.id,
                )
            except StorageFullError:
                errors.append(storage_full_message(upload.name or ""))
                continue
            draft.files.append(received)
    draft_save(request, draft)
    return errors


# --- contact details --------------------------------------------------------------------------


class ContactForm(forms.Form):
    ANONYMOUS, CONTACT = "anonymous", "contact"
    mode = forms.ChoiceField(
        label=gettext_lazy("Do you want to give contact details?"),
        widget=forms.RadioSelect,
        choices=[
            (
                ANONYMOUS,
                gettext_lazy(
                    "No, I stay anonymous. I will read the office's replies with my receipt code."
                ),
            ),
            (CONTACT, gettext_lazy("Yes, the office may know who I am and contact me.")),
        ],
        initial=ANONYMOUS,
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    email = forms.CharField(
        label=gettext_lazy("E-mail address"),
        max_length=254,
        required=False,
        help_text=gettext_lazy(
            "Please do not use your work address: your employer may be able to read it."
        ),
    )
    phone = forms.CharField(label=gettext_lazy("Telephone"), max_length=50, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("mode") == self.CONTACT:
            if not any(cleaned.get(f, "").strip() for f in ("name", "email", "phone")):
                raise ValidationError(
                    _("Please give at least one contact detail, or choose to stay anonymous.")
                )
            if cleaned.get("email"):
                try:
                    validate_email(cleaned["email"])
                except ValidationError:
                    self.add_error("email", _("Enter a valid e-mail address."))
        return cleaned

    def contact(self) -> dict[str, str]:
        if self.cleaned_data.get("mode") != self.CONTACT:
            return {}
        return {
            f: self.cleaned_data[f].strip()
            for f in ("name", "email", "phone")
            if self.cleaned_data.get(f, "").strip()
        }


def contact_view(request: TenantRequest) -> HttpResponse:
    tenant = reporter_tenant(request)
    draft = _require_draft(request, tenant)
    if draft is None:
        if request.method == "POST":
            _expired(request, kept=False)
        return redirect("intake:start")
    if (committed := _committed(draft)) is not None:
        return committed
    if draft.mark_seen("contact"):
        draft_save(request, draft)
    definition = services.definition_of(_questionnaire(tenant, draft))
    initial = {
        "mode": ContactForm.CONTACT if draft.contact else ContactForm.ANONYMOUS,
        **draft.contact,
    }
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST":
        action = request.POST.get("action")
        if action in ("back", "language"):
            draft.contact = {
                k: str(request.POST.get(k, ""))
                for k in ("name", "email", "phone")
                if request.POST.get(k)
            }
            draft_save(request, draft)
            if action == "back":
                return redirect("intake:step", step_id=definition.steps[-1].id)
            response = redirect("intake:contact")
            remember_language(
                response, request.POST.get("switch_language", ""), allowed=tenant.languages
            )
            return response
        if form.is_valid():
            draft.contact = form.contact()
            _complete(draft, "contact")
            draft_save(request, draft)
            return redirect("intake:check")
    return render(
        request,
        "intake/report_contact.html",
        {"form": form, "progress": _progress(definition, "contact")},
    )


# --- check and send ---------------------------------------------------------------------------


def _step_ids(definition: Definition) -> list[str]:
    return ["start", *(s.id for s in definition.steps), "contact", "check"]


def _committed(draft: Draft) -> HttpResponse | None:
    """The receipt page again for a draft whose case was filed and not yet confirmed as
    written down; None for a draft still being written."""
    if not draft.submitted:
        return None
    return redirect("intake:receipt")


def _check_page(
    request: TenantRequest, tenant: Tenant, draft: Draft, *, status: int = 200
) -> HttpResponse:
    questionnaire = _questionnaire(tenant, draft)
    definition = services.definition_of(questionnaire)
    office = access_reporter_office(tenant=tenant, office_id=draft.office_id)
    category = definition.category(draft.category)
    if draft.mark_seen("check"):
        draft_save(request, draft)
    return render(
        request,
        "intake/report_check.html",
        {
            "progress": _progress(definition, "check"),
            "answers": render_answers(definition, definition.visible_answers(draft.answers)),
            "draft": draft,
            "office": office,
            "category": localised(category.label) if category else "",
            "show_office": len(ready_offices(tenant)) > 1,
            "honeypot": HONEYPOT,
            "pow_challenge": (
                flood.pow_challenge(tenant_id=draft.tenant_id, case_id=draft.case_id)
                if settings.INTAKE_POW_BITS > 0
                else ""
            ),
        },
        status=status,
    )


def check_view(request: TenantRequest) -> HttpResponse:
    tenant = reporter_tenant(request)
    draft = _require_draft(request, tenant)
    if draft is None:
        return redirect("intake:start")
    if (committed := _committed(draft)) is not None:
        return committed
    incomplete = _incomplete(tenant, draft)
    if incomplete is not None:
        return incomplete
    return _check_page(request, tenant, draft)


def _incomplete(tenant: Tenant, draft: Draft) -> HttpResponse | None:
    """The first step still to answer, if any."""
    definition = services.definition_of(_questionnaire(tenant, draft))
    missing = [s for s in definition.steps if s.id not in draft.completed_steps]
    if missing:
        return redirect("intake:step", step_id=missing[0].id)
    if "contact" not in draft.completed_steps:
        return redirect("intake:contact")
    return None


def _too_fast(request: TenantRequest, tenant: Tenant, draft: Draft, now: float) -> int:
    """Seconds to wait before this draft may be sent; 0 with a valid proof of work (it
    replaces the minimum draft age, intake.flood)."""
    if flood.pow_valid(
        challenge=str(request.POST.get("pow_challenge", "")),
        counter=str(request.POST.get("pow_counter", "")),
        tenant_id=draft.tenant_id,
        case_id=draft.case_id,
        now=now,
    ):
        return 0
    definition = services.definition_of(_questionnaire(tenant, draft))
    return flood.age_wait(draft, _step_ids(definition), now)


def _file(request: TenantRequest, tenant: Tenant, office: Office, draft: Draft) -> Submission:
    """File the draft's case under the draft's receipt (idempotent: a draft already filed gets
    its case back). A clash of the receipt's lookup part draws another one, kept in the draft
    and the session store before the next try."""
    questionnaire = _questionnaire(tenant, draft)
    definition = services.definition_of(questionnaire)
    mark = flood.flood_mark(draft, flood.submissions_count(tenant))
    for _attempt in range(services.RECEIPT_ATTEMPTS):
        if not draft.receipt:  # a draft begun before receipts were drawn with it
            draft.receipt = crypto.generate_receipt().formatted
            draft_save(request, draft)
            request.session.save()
        try:
            return services.case_submit(
                tenant=tenant,
                office=office,
                answers=definition.visible_answers(draft.answers),
                receipt=crypto.parse_receipt(draft.receipt),
                questionnaire=questionnaire,
                category=draft.category,
                case_id=draft.case_id,
                case_key=draft.key,
                files=draft.files,
                contact=draft.contact or None,
                flood=mark,
                language=get_language() or "",
            )
        except services.ReceiptClash:
            draft.receipt = ""
    raise services.ReceiptClash


def submit_view(request: TenantRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    tenant = reporter_tenant(request)
    draft = _require_draft(request, tenant)
    if draft is None:
        _expired(request, kept=False)
        return redirect("intake:start")
    if draft.submitted:
        return _receipt_page(request, tenant, draft)
    if request.POST.get(HONEYPOT):
        messages.error(request, _("Your report could not be sent. Please try again."))
        return redirect("intake:check")
    office = access_reporter_office(tenant=tenant, office_id=draft.office_id)
    if office is None:
        return redirect("intake:start")
    incomplete = _incomplete(tenant, draft)
    if incomplete is not None:  # a script skipping steps; a person comes from the check page
        return incomplete
    now = time.time()
    draft.mark_seen("check", now)
    wait = _too_fast(request, tenant, draft, now)
    if wait > 0:
        draft_save(request, draft)
        messages.warning(
            request,
            ngettext(
                "Please check your report once more and send it again in %(seconds)s second. "
                "Everything you entered is kept.",
                "Please check your report once more and send it again in %(seconds)s seconds. "
                "Everything you entered is kept.",
                wait,
            )
            % {"seconds": wait},
        )
        return redirect("intake:check")
    try:
        _file(request, tenant, office, draft)
    except crypto.BusyError:
        messages.error(
            request,
            _(
                "The service is very busy right now. Your report is kept; please try again in "
                "a moment."
            ),
        )
        return _check_page(request, tenant, draft, status=503)
    except services.OfficeNotReady:
        messages.error(
            request,
            _(
                "The office cannot receive reports at the moment. Your report is kept; please "
                "try again later, or use one of the external reporting channels on the start "
                "page."
            ),
        )
        return _check_page(request, tenant, draft, status=503)
    # Committed. Nothing below may fail the request (DESIGN §3): the draft keeps the receipt
    # until the reporter confirms having written it down, so a lost answer is answered again.
    draft.submitted = True
    draft_save(request, draft)
    return _receipt_page(request, tenant, draft)


def _receipt_page(request: TenantRequest, tenant: Tenant, draft: Draft) -> HttpResponse:
    case = services.case_submitted(tenant=tenant, case_id=draft.case_id, receipt=draft.receipt)
    if case is None:
        # The draft says filed but its case is gone (deleted by the office since): nothing to
        # show; start afresh.
        draft_clear(request)
        return redirect("intake:start")
    return render(
        request,
        "intake/receipt.html",
        {
            "groups": draft.receipt.split("-"),
            "acknowledge_due": case.acknowledge_due,
            "feedback_due": case.feedback_due,
        },
    )


def receipt_view(request: TenantRequest) -> HttpResponse:
    """The receipt page again, until the reporter confirms having written the code down."""
    tenant = reporter_tenant(request)
    draft = _require_draft(request, tenant)
    if draft is None or not draft.submitted:
        return redirect("intake:start")
    return _receipt_page(request, tenant, draft)


def done_view(request: TenantRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    tenant = reporter_tenant(request)
    draft = _require_draft(request, tenant)
    if draft is not None and draft.submitted:
        if not request.POST.get("kept"):
            messages.error(
                request,
                _("Please confirm that you have written down or printed your receipt code."),
            )
            return redirect("intake:receipt")
        draft_clear(request)
        _renew_session_key(request)
    messages.success(
        request,
        _(
            "Thank you. Your report has been sent. Come back with your receipt code to read "
            "the office's reply."
        ),
    )
    return redirect("intake:landing")


def _renew_session_key(request: TenantRequest) -> None:
    """A new session key once the report is done (nothing links what follows to the draft's
    session). Best effort: the old session's deletion announces itself to open sockets over
    Redis, which may be down; the draft is already gone either way."""
    try:
        request.session.cycle_key()
    except Exception:
        logger.warning("intake: the session key was not renewed after a report")
