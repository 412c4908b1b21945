"""The office's list of reports set aside as suspected flood, and the bulk actions on it (set
aside from the inbox, restore, propose discarding, approve discarding): casework.flood."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from casework import flood
from casework.services import WorkflowError
from whistle.accounts.decorators import staff_required
from whistle.http import StaffRequest
from whistle.keys.services import VAULT_HANDLER_PRIVATE, KeyAccessError
from whistle.tenants.access import access_membership
from whistle.tenants.models import Office
from whistle.vault import get_vault

PAGE_SIZE = 100


def _case_ids(request: StaffRequest) -> list[str]:
    ids = []
    for value in request.POST.getlist("case"):
        try:
            ids.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return ids


@staff_required
def set_apart_view(request: StaffRequest, office_id: str) -> HttpResponse:
    membership = access_membership(user=request.user, office_id=office_id)
    office = membership.office
    if request.method == "POST":
        return _act(request, office)
    cases = flood.cases_set_apart(office=office, user=request.user)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    pending = {
        proposal.case_id: proposal
        for proposal in flood.discard_pending(office=office, user=request.user)
        .filter(case__in=[case.pk for case in page.object_list])
        .select_related("proposed_by")
    }
    rows = [(case, pending.get(case.pk)) for case in page.object_list]
    return render(
        request,
        "casework/set_apart.html",
        {"office": office, "membership": membership, "page": page, "rows": rows},
    )


def _act(request: StaffRequest, office: Office) -> HttpResponse:
    action = request.POST.get("action", "")
    ids = _case_ids(request)
    user = request.user
    back = redirect("casework:set_apart", office_id=office.public_id)
    if not ids:
        messages.error(request, _("Select at least one report."))
        return (
            redirect("casework:inbox", office_id=office.public_id)
            if action == "set_aside"
            else back
        )
    try:
        if action == "set_aside":
            count = flood.cases_set_aside(office=office, actor=user, case_ids=ids)
            messages.success(
                request,
                ngettext(
                    "%(count)s report was set aside as suspected flood.",
                    "%(count)s reports were set aside as suspected flood.",
                    count,
                )
                % {"count": count},
            )
            return redirect("casework:inbox", office_id=office.public_id)
        if action == "restore":
            count = flood.cases_restore(office=office, actor=user, case_ids=ids)
            messages.success(
                request,
                ngettext(
                    "%(count)s report was put back into the inbox.",
                    "%(count)s reports were put back into the inbox.",
                    count,
                )
                % {"count": count},
            )
        elif action == "propose":
            private = get_vault(request).get(VAULT_HANDLER_PRIVATE)
            if private is None:
                raise KeyAccessError("no handler key in this session")
            count = flood.discard_propose(
                office=office, actor=user, handler_private=private, case_ids=ids
            )
            messages.success(
                request,
                ngettext(
                    "Discarding %(count)s report was proposed. A second handler of the office "
                    "must approve it.",
                    "Discarding %(count)s reports was proposed. A second handler of the office "
                    "must approve it.",
                    count,
                )
                % {"count": count},
            )
        elif action == "approve":
            count = flood.discard_approve(office=office, actor=user, case_ids=ids)
            messages.success(
                request,
                ngettext(
                    "%(count)s report was discarded.", "%(count)s reports were discarded.", count
                )
                % {"count": count},
            )
        else:
            return HttpResponseBadRequest()
    except WorkflowError as error:
        messages.error(request, str(error))
    except KeyAccessError:
        messages.error(
            request,
            _("You need access to this office's reports to propose discarding them."),
        )
    return back
