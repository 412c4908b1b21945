"""Request types carrying what Whistle's middleware adds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from whistle.accounts.models import User
    from whistle.tenants.models import Tenant


class TenantRequest(HttpRequest):
    """A request after TenantMiddleware: ``tenant`` is None on the operator's own pages."""

    tenant: Tenant | None


class StaffRequest(TenantRequest):
    """A request that passed ``staff_required``: a logged-in user with a verified 2nd factor."""

    user: User
