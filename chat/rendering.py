"""One message of the conversation as HTML: the mailbox and case pages (through the
``chat_message`` template tag) and the websocket consumers show it from the same function.

Written out rather than as a template: a socket renders every message it shows, and the
template engine cost ten times as much per message (docs/performance.md, chat). Every value
that is not a fixed string of this module goes through ``escape`` (the standard library's
``html.escape``, as Django's own ``escape`` does, without its lazy-string wrapper).
"""

from __future__ import annotations

import datetime
import functools
from html import escape

from django.urls import get_script_prefix, reverse
from django.utils import formats
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import normalize_newlines
from django.utils.translation import get_language, gettext

from chat.services import MessageView


@functools.lru_cache(maxsize=256)
def _date(value: datetime.date, language: str | None) -> str:
    # A conversation shows few distinct dates; formatting one costs more than the rest of the
    # message. (The language is part of the key: the format depends on it.)
    return escape(formats.date_format(value, "DATE_FORMAT"))


def _who(view: MessageView, viewer_side: str) -> str:
    if viewer_side == "reporter":
        return gettext("You") if view.mine else gettext("The office")
    if not view.mine:
        return gettext("Reporter")
    author = view.message.author
    return author.display_name if author is not None else gettext("Office")


def _read_marker(view: MessageView, viewer_side: str) -> str:
    if not view.mine:
        return ""
    if not view.message.read:
        text = gettext("not read yet")
    elif viewer_side == "reporter":
        text = gettext("read by the office")
    else:
        text = gettext("read by the reporter")
    return f' · <span class="read-marker">{escape(text)}</span>'


def _body(view: MessageView) -> str:
    if not view.body:
        return ""
    # As the ``linebreaksbr`` filter: escaped, line breaks kept.
    lines = escape(normalize_newlines(view.body)).replace("\n", "<br>")
    return f'<div class="msg-body">{lines}</div>'


REPORTER_URLCONF = "whistle.urls_reporter"


def _reporter_file_url(attachment_id: object, prefix: str | None) -> str:
    """The mailbox download of an office file, under the tenant's prefix (``/t/<slug>/`` or a
    tenant host's root): the script prefix of a reporter request, or the one a socket was
    opened under (a socket has no request whose prefix ``reverse`` could use)."""
    path = reverse(
        "intake:mailbox_file", urlconf=REPORTER_URLCONF, kwargs={"attachment_id": attachment_id}
    )
    return (prefix or get_script_prefix()) + path.removeprefix(get_script_prefix())


def _files(view: MessageView, viewer_side: str, prefix: str | None = None) -> str:
    if not view.attachments:
        return ""
    items = []
    for a in view.attachments:
        name = escape(str(a.meta["name"]))
        if viewer_side == "office":
            case = view.message.case
            url = reverse(
                "casework:attachment",
                kwargs={
                    "office_id": case.office.public_id,
                    "case_id": case.public_id,
                    "attachment_id": a.attachment.public_id,
                },
            )
            items.append(f'<li><a href="{escape(url)}" download>{name}</a></li>')
        elif a.attachment.side == "office":
            # The office's files are the reporter's to download (their own they have already).
            url = _reporter_file_url(a.attachment.public_id, prefix)
            items.append(f'<li><a href="{escape(url)}" download>{name}</a></li>')
        else:
            items.append(f"<li>{name}</li>")
    return f'<ul class="file-list">{"".join(items)}</ul>'


def message_html(view: MessageView, viewer_side: str, prefix: str | None = None) -> SafeString:
    """``<li>`` of one message as ``viewer_side`` ("reporter" or "office") sees it, in the
    active language; ``prefix``: the reporter pages' prefix where no request gives it."""
    public_id = view.message.public_id
    kind = "msg-mine" if view.mine else "msg-theirs"
    meta = (
        f"{escape(_who(view, viewer_side))} · {_date(view.message.created_on, get_language())}"
        f"{_read_marker(view, viewer_side)}"
    )
    return mark_safe(  # noqa: S308 - every variable part above is escaped
        f'<li class="msg {kind}" id="msg-{public_id}" data-message-id="{public_id}">\n'
        f'  <p class="msg-meta">{meta}</p>\n'
        f"  {_body(view)}\n  {_files(view, viewer_side, prefix)}\n</li>"
    )
