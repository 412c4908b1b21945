"""The handler's desk: inbox, case view and the actions on a case. Views are thin: each action
parses its form, calls one service and answers."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import crypto
from casework import disclosure_views, flood, inbox_rows, replies, retention, services
from casework.access import access_attachment, access_case
from casework.audit import audit_record, events_for_case
from casework.case_logs import handovers_for
from casework.models import DeletionProposal
from chat.models import Message
from chat.services import messages_for
from intake import services as intake_services
from intake.attachments import attachment_open, attachments_abandon
from intake.disclosures import disclosures_for_office
from intake.models import Case, Disclosure, tenant_today
from intake.questionnaire import localised, render_answers
from whistle.accounts.decorators import staff_required
from whistle.accounts.models import User
from whistle.http import StaffRequest
from whistle.keys.services import VAULT_HANDLER_PRIVATE, KeyAccessError, office_key_status
from whistle.tenants.access import access_membership
from whistle.tenants.models import Membership, Office
from whistle.vault import get_vault

PAGE_SIZE = 50


# --- inbox ----------------------------------------------------------------------------------


class InboxFilter(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[
            ("", gettext_lazy("All open")),
            ("all", gettext_lazy("All")),
            *Case.Status.choices,
        ],
    )
    category = forms.CharField(label=gettext_lazy("Topic"), required=False, max_length=64)
    show = forms.ChoiceField(
        label=gettext_lazy("Show"),
        required=False,
        choices=[
            ("", gettext_lazy("Everything")),
            ("overdue", gettext_lazy("Overdue")),
            ("mine", gettext_lazy("Assigned to me")),
            ("unassigned", gettext_lazy("Not assigned")),
        ],
    )
    sort = forms.ChoiceField(
        label=gettext_lazy("Sort by"),
        required=False,
        choices=[("", gettext_lazy("Newest first")), ("oldest", gettext_lazy("Oldest first"))],
    )


def inbox_cases(
    *, offices: list[Office], user: User, params: dict[str, Any], today: datetime.date
) -> QuerySet[Case]:
    """Cases of these offices that ``user`` is not excluded from, filtered and sorted; one
    query per page whatever the number of cases (assignee, office and unread count joined)."""
    cases = (
        # Reports set aside as suspected flood have a list of their own (casework.flood).
        Case.objects.filter(office__in=offices, flood=Case.Flood.NONE)
        .exclude(exclusions__user=user)
        .select_related("tenant", "office", "assignee")
        # A correlated subquery rather than a join + GROUP BY, so the count and the page can
        # use the (office, received_on) index and stop after one page.
        .annotate(
            unread=Coalesce(
                Subquery(
                    Message.objects.filter(
                        case=OuterRef("pk"), side=Message.Side.REPORTER, read=False
                    )
                    .order_by()
                    .values("case")
                    .annotate(n=Count("*"))
                    .values("n"),
                    output_field=IntegerField(),
                ),
                0,
            )
        )
    )
    status = params.get("status") or ""
    if status == "":
        cases = cases.exclude(status=Case.Status.CLOSED)
    elif status != "all":
        cases = cases.filter(status=status)
    if params.get("category"):
        cases = cases.filter(category=params["category"])
    show = params.get("show")
    if show == "mine":
        cases = cases.filter(Q(assignee=user) | Q(deputy=user))
    elif show == "unassigned":
        cases = cases.filter(assignee__isnull=True)
    elif show == "overdue":
        cases = cases.overdue(today)
    order = ("received_on", "id") if params.get("sort") == "oldest" else ("-received_on", "-id")
    return cases.order_by(*order)


def _page(request: StaffRequest, cases: QuerySet[Case]) -> Page[Case]:
    """One page of the inbox, its rows decorated with topic and label (only this page's)."""
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = inbox_rows.decorate(
        cases=list(page.object_list),
        user=request.user,
        handler_private=get_vault(request).get(VAULT_HANDLER_PRIVATE),
    )
    return page


@staff_required
def inbox_view(request: StaffRequest, office_id: str) -> HttpResponse:
    membership = access_membership(user=request.user, office_id=office_id)
    office = membership.office
    filters = InboxFilter(request.GET or None)
    params = filters.cleaned_data if filters.is_valid() else {}
    today = tenant_today(office.owner)
    cases = inbox_cases(offices=[office], user=request.user, params=params, today=today)
    page = _page(request, cases)
    query = request.GET.copy()
    query.pop("page", None)
    soon = Case.objects.filter(
        office=office,
        legal_hold=False,
        delete_on__isnull=False,
        delete_on__lte=today + datetime.timedelta(days=30),
    ).count()
    set_apart = flood.cases_set_apart(office=office, user=request.user).count()
    return render(
        request,
        "casework/inbox.html",
        {
            "set_apart": set_apart,
            "deleted_soon": soon,
            "office": office,
            "membership": membership,
            "served_tenants": office.tenants.order_by("name"),
            "key_status": office_key_status(office=office, user=request.user),
            "page": page,
            "filters": filters,
            "today": today,
            "query": query.urlencode(),
        },
    )


@staff_required
def all_inboxes_view(request: StaffRequest) -> HttpResponse:
    """One inbox across all the offices the handler is a member of."""
    memberships = list(Membership.objects.filter(user=request.user).select_related("office__owner"))
    offices = [m.office for m in memberships]
    filters = InboxFilter(request.GET or None)
    params = filters.cleaned_data if filters.is_valid() else {}
    today = tenant_today(offices[0].owner) if offices else datetime.date.today()  # noqa: DTZ011
    cases = inbox_cases(offices=offices, user=request.user, params=params, today=today)
    page = _page(request, cases)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "casework/inbox_all.html",
        {
            "page": page,
            "filters": filters,
            "today": today,
            "query": query.urlencode(),
            "offices": offices,
        },
    )


# --- case view and actions ------------------------------------------------------------------


def _case_key(request: StaffRequest, case: Case) -> bytes | None:
    private = get_vault(request).get(VAULT_HANDLER_PRIVATE)
    if private is None:
        return None
    try:
        return intake_services.case_key_for_office(
            case=case, user=request.user, handler_private=private
        )
    except KeyAccessError:
        return None


def reporter_language(case: Case) -> str:
    """The language the reporter used (cases from before it was recorded: the tenant's
    first language)."""
    return case.tenant.language_for(case.language)


def language_name(code: str) -> str:
    return str(dict(settings.LANGUAGES).get(code, code))


def _offered(template: str, case: Case, **context: Any) -> str:
    """A text offered to the handler for the reporter, in the reporter's language."""
    with translation.override(reporter_language(case)):
        return render_to_string(template, {"case": case, **context}).strip()


def default_acknowledgement(case: Case) -> str:
    """The acknowledgement offered to the handler: it promises the feedback deadline the
    case gets when receipt is confirmed today (``Case.feedback_due_if_acknowledged_on``), the
    same date the reporter's mailbox then shows."""
    promised = case.feedback_due_if_acknowledged_on(tenant_today(case.tenant))
    return _offered("casework/acknowledgement.txt", case, feedback_promised=promised)


def default_feedback(case: Case) -> str:
    return _offered("casework/feedback.txt", case)


def _members(case: Case) -> list[Membership]:
    return list(
        Membership.objects.filter(office=case.office)
        .exclude(user__in=case.exclusions.values("user"))
        .select_related("user")
    )


def _render_case(
    request: StaffRequest, membership: Membership, case: Case, key: bytes, **extra: Any
) -> HttpResponse:
    posted = extra.get("posted")
    label = services.case_label(case=case, case_key=key)
    definition = intake_services.definition_of(case.questionnaire) if case.questionnaire else None
    category = definition.category(case.category) if definition else None
    attachments = intake_services.case_attachments(case=case, case_key=key)
    context = {
        "office": membership.office,
        "membership": membership,
        "case": case,
        "today": tenant_today(case.tenant),
        "category": localised(category.label) if category else case.category,
        "answers": render_answers(definition, intake_services.case_answers(case=case, case_key=key))
        if definition
        else [],
        "report_files": [a for a in attachments if not a.attachment.messages.exists()],
        "conversation": messages_for(case=case, case_key=key, viewer_side=Message.Side.OFFICE),
        "notes": services.notes_for(case=case, case_key=key),
        "members": _members(case),
        "audit": events_for_case(case).select_related("actor")[:200],
        "next_steps": [s for s in Case.Status if case.can_move_to(s)],
        "statuses": Case.Status,
        "outcomes": Case.Outcome.choices,
        "ack_text": default_acknowledgement(case),
        "disclosures": disclosures_for_office(case=case, case_key=key),
        "grounds": Disclosure.Ground.choices,
        "handovers": handovers_for(case=case, case_key=key),
        "feedback_text": default_feedback(case),
        "reporter_language_name": language_name(reporter_language(case)),
        "label": posted["label"] if posted is not None and "label" in posted else label,
        "label_max": services.LABEL_MAX,
        "proposals": DeletionProposal.objects.filter(
            case=case, approved_by__isnull=True
        ).select_related("proposed_by"),
        **extra,
    }
    return render(request, "casework/case.html", context)


@staff_required
def case_view(request: StaffRequest, office_id: str, case_id: str) -> HttpResponse:
    membership, case = access_case(user=request.user, office_id=office_id, case_id=case_id)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    key = _case_key(request, case)
    if key is None:
        return render(request, "casework/no_access.html", {"office": membership.office}, status=403)
    services.case_viewed(case=case, actor=request.user)
    return _render_case(request, membership, case, key)


def _user(case: Case, public_id: str) -> User | None:
    if not public_id:
        return None
    return User.objects.filter(public_id=public_id, memberships__office=case.office).first()


Action = Callable[[StaffRequest, Membership, Case, bytes], HttpResponse | None]


def _act_acknowledge(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    services.case_acknowledge(
        case=case, actor=request.user, case_key=key, message=request.POST.get("message", "")
    )
    messages.success(
        request, _("Receipt confirmed. The reporter sees your message in their mailbox.")
    )


def _act_scope(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    choice = request.POST.get("in_scope")
    if choice not in ("yes", "no"):
        raise services.WorkflowError(_("Choose whether the report is within the scope of the law."))
    services.case_check_scope(
        case=case,
        actor=request.user,
        case_key=key,
        in_scope=choice == "yes",
        reason=request.POST.get("reason", ""),
    )
    messages.success(request, _("The decision on responsibility was recorded."))


def _act_move(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    services.case_move(case=case, actor=request.user, status=request.POST.get("status", ""))
    messages.success(request, _("The status was changed."))


def _act_feedback(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    services.case_give_feedback(
        case=case, actor=request.user, case_key=key, message=request.POST.get("message", "")
    )
    messages.success(request, _("Feedback sent. The reporter sees it in their mailbox."))


def _act_close(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    services.case_close(case=case, actor=request.user, outcome=request.POST.get("outcome", ""))
    messages.success(request, _("The case is closed."))


def _act_extend(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    services.case_extend_feedback(
        case=case, actor=request.user, case_key=key, reason=request.POST.get("reason", "")
    )
    messages.success(request, _("The feedback period was extended."))


def _act_assign(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    services.case_assign(
        case=case,
        actor=request.user,
        assignee=_user(case, request.POST.get("assignee", "")),
        deputy=_user(case, request.POST.get("deputy", "")),
    )
    messages.success(request, _("Assignment saved."))


def _act_recuse(request: StaffRequest, m: Membership, case: Case, key: bytes) -> HttpResponse:
    services.case_recuse(case=case, actor=request.user)
    messages.success(request, _("You have stepped back from this case and can no longer open it."))
    return redirect("casework:inbox", office_id=m.office.public_id)


def _act_exclude(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    person = _user(case, request.POST.get("user", ""))
    if person is None:
        raise services.WorkflowError(_("Choose a member of the office."))
    services.case_exclude(case=case, actor=request.user, user=person)
    messages.success(
        request, _("%(name)s can no longer open this case.") % {"name": person.display_name}
    )


def _act_note(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    services.note_add(
        case=case, actor=request.user, case_key=key, body=request.POST.get("body", "")
    )
    messages.success(request, _("Note saved."))


def _act_label(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    label = request.POST.get("label", "")
    services.case_set_label(case=case, actor=request.user, case_key=key, label=label)
    messages.success(request, _("Label saved.") if label.strip() else _("Label removed."))


def _act_reply(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    received = replies.reply_files_receive(request, case=case, case_key=key)
    if received.problems:
        # Nothing is sent: the page comes back with the text kept and says which file and why.
        attachments_abandon(received.files)
        raise services.WorkflowError(" ".join(received.problems))
    try:
        services.case_message_send(
            case=case,
            actor=request.user,
            case_key=key,
            body=request.POST.get("body", ""),
            files=received.files,
        )
    except BaseException:
        attachments_abandon(received.files)  # best effort; what it cannot remove the purge will
        raise
    messages.success(request, _("Your message was sent to the reporter's mailbox."))


def _act_reveal(request: StaffRequest, m: Membership, case: Case, key: bytes) -> HttpResponse:
    contact = services.case_reveal_identity(
        case=case,
        actor=request.user,
        case_key=key,
        disclosure_id=request.POST.get("disclosure", ""),
    )
    return _render_case(request, m, case, key, contact=contact)


def _act_hold(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    try:
        review_on = datetime.date.fromisoformat(request.POST.get("review_on", ""))
    except ValueError:
        raise services.WorkflowError(_("Enter the review date.")) from None
    retention.case_legal_hold(
        case=case,
        actor=request.user,
        case_key=key,
        reason=request.POST.get("reason", ""),
        review_on=review_on,
    )
    messages.success(request, _("The case is on legal hold and will not be deleted."))


def _act_release(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    retention.case_release_hold(case=case, actor=request.user)
    messages.success(request, _("The legal hold was released."))


def _act_extend_retention(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    retention.case_extend_retention(
        case=case, actor=request.user, case_key=key, reason=request.POST.get("reason", "")
    )
    messages.success(request, _("The case will be kept one year longer."))


def _act_propose_deletion(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    retention.deletion_propose(
        case=case,
        actor=request.user,
        case_key=key,
        target=request.POST.get("target", ""),
        target_id=request.POST.get("target_id", ""),
        reason=request.POST.get("reason", ""),
    )
    messages.success(
        request, _("Deletion proposed. A second handler of the office must approve it.")
    )


def _act_approve_deletion(
    request: StaffRequest, m: Membership, case: Case, key: bytes
) -> HttpResponse | None:
    try:
        proposal_id = uuid.UUID(request.POST.get("proposal", ""))
    except ValueError:
        raise services.WorkflowError(_("This proposal no longer exists.")) from None
    proposal = DeletionProposal.objects.filter(
        case=case, public_id=proposal_id, approved_by__isnull=True
    ).first()
    if proposal is None:
        raise services.WorkflowError(_("This proposal no longer exists."))
    retention.deletion_approve(proposal=proposal, actor=request.user)
    if proposal.target == DeletionProposal.Target.CASE:
        messages.success(request, _("The case was deleted."))
        return redirect("casework:inbox", office_id=m.office.public_id)
    messages.success(request, _("It was deleted."))
    return None


ACTIONS: dict[str, Action] = {
    "acknowledge": _act_acknowledge,
    "scope": _act_scope,
    "move": _act_move,
    "feedback": _act_feedback,
    "close": _act_close,
    "extend": _act_extend,
    "assign": _act_assign,
    "recuse": _act_recuse,
    "exclude": _act_exclude,
    "note": _act_note,
    "label": _act_label,
    "reply": _act_reply,
    "reveal": _act_reveal,
    "request_consent": disclosure_views.act_request_consent,
    "disclose_on_ground": disclosure_views.act_disclose_on_ground,
    "hold": _act_hold,
    "release": _act_release,
    "extend_retention": _act_extend_retention,
    "propose_deletion": _act_propose_deletion,
    "approve_deletion": _act_approve_deletion,
}


@staff_required
def case_action_view(
    request: StaffRequest, office_id: str, case_id: str, action: str
) -> HttpResponse:
    membership, case = access_case(user=request.user, office_id=office_id, case_id=case_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    handler = ACTIONS.get(action)
    if handler is None:
        return HttpResponseNotAllowed(["POST"])
    key = _case_key(request, case)
    if key is None:
        return render(request, "casework/no_access.html", {"office": membership.office}, status=403)
    try:
        response = handler(request, membership, case, key)
    except services.WorkflowError as error:
        case.refresh_from_db()
        return _render_case(
            request, membership, case, key, action_error=str(error), posted=request.POST
        )
    return response or redirect("casework:case", office_id=office_id, case_id=case_id)


@staff_required
def attachment_download_view(
    request: StaffRequest, office_id: str, case_id: str, attachment_id: str
) -> HttpResponse:
    case, attachment = access_attachment(
        user=request.user, office_id=office_id, case_id=case_id, attachment_id=attachment_id
    )
    key = _case_key(request, case)
    if key is None:
        return render(request, "casework/no_access.html", {"office": case.office}, status=403)
    meta = next(
        v.meta
        for v in intake_services.case_attachments(case=case, case_key=key)
        if v.attachment.pk == attachment.pk
    )
    audit_record(
        tenant=case.tenant,
        actor=request.user,
        verb="file.downloaded",
        object_type="attachment",
        object_id=str(attachment.public_id),
        case=case,
    )
    response: HttpResponse = StreamingHttpResponse(  # type: ignore[assignment]
        attachment_open(
            case_key=key,
            tenant_id=str(case.tenant.public_id),
            case_id=str(case.public_id),
            attachment_id=str(attachment.public_id),
            storage_name=attachment.storage_name,
        ),
        content_type="application/octet-stream",
    )
    # Only ever a download: never rendered by the browser in our origin.
    response["Content-Disposition"] = content_disposition_header(True, meta["name"])
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- reports received by phone, letter or in person (CH-4) ----------------------------------


class RecordForm(forms.Form):
    tenant = forms.ChoiceField(label=gettext_lazy("Organisation"))
    channel = forms.ChoiceField(
        label=gettext_lazy("How was the report received?"),
        widget=forms.RadioSelect,
        choices=[c for c in Case.Channel.choices if c[0] != Case.Channel.WEB],
    )
    category = forms.ChoiceField(label=gettext_lazy("Topic"))
    language = forms.ChoiceField(
        label=gettext_lazy("Language of the reporter"),
        required=False,
        help_text=gettext_lazy(
            "Texts offered for replies to this reporter (confirmation of receipt, feedback) "
            "will be in this language."
        ),
    )
    what = forms.CharField(
        label=gettext_lazy("The report as received"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=gettext_lazy(
            "Write down what the reporter said or wrote. Leave out who they are unless they "
            "want it recorded."
        ),
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenants = {str(t.public_id): t for t in membership.office.tenants.order_by("name")}
        tenant_field = cast(forms.ChoiceField, self.fields["tenant"])
        tenant_field.choices = [(k, t.name) for k, t in self.tenants.items()]
        first = next(iter(self.tenants.values()))
        definition = intake_services.definition_of(intake_services.questionnaire_current(first))
        category_field = cast(forms.ChoiceField, self.fields["category"])
        category_field.choices = [(c.id, localised(c.label)) for c in definition.categories]
        language_field = cast(forms.ChoiceField, self.fields["language"])
        language_field.choices = [(code, name) for code, name in settings.LANGUAGES]
        language_field.initial = translation.get_language()


@staff_required
def record_view(request: StaffRequest, office_id: str) -> HttpResponse:
    membership = access_membership(user=request.user, office_id=office_id)
    form = RecordForm(request.POST or None, membership=membership)
    if request.method == "POST" and form.is_valid():
        try:
            submission = services.case_record_by_handler(
                office=membership.office,
                tenant=form.tenants[form.cleaned_data["tenant"]],
                actor=request.user,
                channel=form.cleaned_data["channel"],
                category=form.cleaned_data["category"],
                language=form.cleaned_data["language"] or translation.get_language() or "",
                answers={"what": form.cleaned_data["what"]},
            )
        except intake_services.OfficeNotReady:
            form.add_error(None, _("This office cannot receive reports until its keys are set up."))
        except crypto.BusyError:
            form.add_error(
                None,
                _(
                    "The service is very busy right now. Nothing was saved; what you entered is "
                    "kept below. Please try again in a moment."
                ),
            )
            context = {"office": membership.office, "form": form}
            return render(request, "casework/record.html", context, status=503)
        else:
            case = submission.case
            return render(
                request,
                "casework/receipt_slip.html",
                {
                    "office": membership.office,
                    "case": case,
                    "groups": submission.receipt.formatted.split("-"),
                    "reporter_url": request.build_absolute_uri(f"/t/{case.tenant.slug}/"),
                },
            )
    return render(request, "casework/record.html", {"office": membership.office, "form": form})
