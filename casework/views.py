from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from whistle.accounts.decorators import staff_required
from whistle.http import StaffRequest
from whistle.keys.services import office_key_status
from whistle.tenants.access import access_membership


@staff_required
def inbox_view(request: StaffRequest, office_id: str) -> HttpResponse:
    membership = access_membership(user=request.user, office_id=office_id)
    office = membership.office
    return render(
        request,
        "casework/inbox.html",
        {
            "office": office,
            "membership": membership,
            "served_tenants": office.tenants.order_by("name"),
            "key_status": office_key_status(office=office, user=request.user),
        },
    )
