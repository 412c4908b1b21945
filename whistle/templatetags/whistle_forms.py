"""Template helpers for forms: what an error summary links to and how its lines read."""

from __future__ import annotations

from django import template
from django.forms import BoundField
from django.utils.translation import gettext as _

register = template.Library()


def _is_group(field: BoundField) -> bool:
    widget = field.field.widget
    return getattr(widget, "input_type", None) == "radio" or bool(
        getattr(widget, "allow_multiple_selected", False)
        and getattr(widget, "input_type", None) == "checkbox"
    )


@register.filter
def error_target(field: BoundField) -> str:
    """The id an error-summary link jumps to: the field, or a group's first choice (the group
    itself is a fieldset with no focusable element of its own)."""
    return f"{field.auto_id}_0" if _is_group(field) else str(field.id_for_label or field.auto_id)


@register.simple_tag
def error_line(field: BoundField, error: str) -> str:
    """ "Label: error", without a doubled mark when the label is a question ("What happened?:")."""
    label = str(field.label or "").strip()
    if label and label[-1] in "?!:.":
        return _("%(label)s – %(error)s") % {"label": label, "error": error}  # noqa: RUF001
    return _("%(label)s: %(error)s") % {"label": label, "error": error}
