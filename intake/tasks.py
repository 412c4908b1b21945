from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse, set_script_prefix
from django.utils import translation

from intake.accessibility import accessibility_feedback_purge
from intake.models import AccessibilityFeedback
from whistle.tenants.models import TenantAdmin


@shared_task
def mail_accessibility_feedback(feedback_id: int) -> int:
    """Tell the tenant's admins that accessibility feedback arrived: the tenant's name and a
    link, never the message. The argument is an id, nothing else."""
    feedback = AccessibilityFeedback.objects.select_related("tenant").filter(pk=feedback_id).first()
    if feedback is None:
        return 0
    tenant = feedback.tenant
    # The console page is on the operator's hosts (ROOT_URLCONF, no script prefix), not the
    # tenant's address, where an eager run inside the reporter's request would put it.
    prefix = get_script_prefix()
    set_script_prefix("/")
    try:
        link = settings.WHISTLE_BASE_URL + reverse(
            "console:accessibility_statement",
            kwargs={"tenant_id": tenant.public_id},
            urlconf=settings.ROOT_URLCONF,
        )
    finally:
        set_script_prefix(prefix)
    admins = TenantAdmin.objects.filter(tenant=tenant, user__is_active=True).select_related("user")
    sent = 0
    for admin in admins:
        with translation.override(settings.LANGUAGE_CODE):
            subject = render_to_string("intake/mail/accessibility_feedback_subject.txt").strip()
            body = render_to_string(
                "intake/mail/accessibility_feedback.txt", {"tenant": tenant, "link": link}
            )
        sent += send_mail(subject, body, None, [admin.user.email])
    return sent


@shared_task
def purge_accessibility_feedback() -> int:
    """Beat job (daily): delete feedback past ACCESSIBILITY_FEEDBACK_DAYS."""
    return accessibility_feedback_purge()
