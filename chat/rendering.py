"""One message of the conversation as HTML: the mailbox and case pages (through the
``chat_message`` template tag) and the websocket consumers show it from the same function.

Written out rather than as a template: a socket renders every message it shows, and the
template engine cost about ten times as much per message (docs/performance.md, chat).
"""

from __future__ import annotations

import datetime
import functools

from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext

from chat.services import MessageView


@functools.lru_cache(maxsize=256)
def _date(value: datetime.date, language: str | None) -> str:
    # A conversation shows few distinct dates; formatting one costs more than the rest of the
    # message. (The language is part of the key: the format depends on it.)
    return formats.date_format(value, "DATE_FORMAT")


def _who(view: MessageView, viewer_side: str) -> str:
    if viewer_side == "reporter":
        return gettext("You") if view.mine else gettext("The office")
    if not view.mine:
        return gettext("Reporter")
    author = view.message.author
    return author.display_name if author is not None else gettext("Office")


def _read_marker(view: MessageView, viewer_side: str) -> SafeString | str:
    if not view.mine:
        return ""
    if not view.message.read:
        text = gettext("not read yet")
    elif viewer_side == "reporter":
        text = gettext("read by the office")
    else:
        text = gettext("read by the reporter")
    return format_html(' · <span class="read-marker">{}</span>', text)


def _files(view: MessageView, viewer_side: str) -> SafeString | str:
    if not view.attachments:
        return ""
    if viewer_side == "office":
        case = view.message.case
        items = format_html_join(
            "",
            '<li><a href="{}" download>{}</a></li>',
            (
                (
                    reverse(
                        "casework:attachment",
                        kwargs={
                            "office_id": case.office.public_id,
                            "case_id": case.public_id,
                            "attachment_id": a.attachment.public_id,
                        },
                    ),
                    a.meta["name"],
                )
                for a in view.attachments
            ),
        )
    else:
        items = format_html_join("", "<li>{}</li>", ((a.meta["name"],) for a in view.attachments))
    return format_html('<ul class="file-list">{}</ul>', items)


def message_html(view: MessageView, viewer_side: str) -> SafeString:
    """``<li>`` of one message as ``viewer_side`` ("reporter" or "office") sees it, in the
    active language."""
    public_id = view.message.public_id
    return format_html(
        '<li class="msg {}" id="msg-{}" data-message-id="{}">\n'
        '  <p class="msg-meta">{} · {}{}</p>\n'
        "  {}\n  {}\n</li>",
        "msg-mine" if view.mine else "msg-theirs",
        public_id,
        public_id,
        _who(view, viewer_side),
        _date(view.message.created_on, get_language()),
        _read_marker(view, viewer_side),
        format_html('<div class="msg-body">{}</div>', linebreaksbr(view.body, autoescape=True))
        if view.body
        else "",
        _files(view, viewer_side),
    )
