"""The conversation of a case: messages encrypted under the case key, with read markers."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from intake.models import Attachment, Case


class Message(models.Model):
    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "via_case"

    class Side(models.TextChoices):
        REPORTER = "reporter", _("reporter")
        OFFICE = "office", _("office")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    side = models.CharField(max_length=16, choices=Side.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body_ciphertext = models.BinaryField()
    attachments = models.ManyToManyField(Attachment, blank=True, related_name="messages")
    # A date, not a time: reporters' writing times must not be exposed (DESIGN §5).
    created_on = models.DateField()
    # Set when the other side first displayed it ("read by the office" / "read by you").
    read = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The catch-up job of office notices (casework.notices.notices_due) looks for these.
            models.Index(
                fields=["case", "id"],
                condition=models.Q(side="reporter", read=False),
                name="chat_msg_unread_reporter",
            )
        ]

    def __str__(self) -> str:
        return f"message {self.public_id}"


class OfficeNotification(models.Model):
    """When the office was last told by e-mail that the reporter wrote (at most hourly), and
    the newest reporter message that notice covered. The row is also the lock under which a
    notice is sent and marked (``casework.notices.office_notice_send``)."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "via_case"

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="office_notification")
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_message_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"notification state of {self.case_id}"
