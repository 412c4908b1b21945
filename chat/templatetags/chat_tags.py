from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from chat.rendering import message_html
from chat.services import MessageView

register = template.Library()


@register.simple_tag
def chat_message(view: MessageView, viewer_side: str) -> SafeString:
    """``{% chat_message m "office" %}``: one message of the conversation (chat.rendering)."""
    return message_html(view, viewer_side)
