"""Forms of the questionnaire editor. Texts have one field per enabled language; the first
language is the main one and required, the others may be filled in later (the editor lists
what is missing)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.questionnaires import (
    CHOICE_TYPES,
    TEXT_TYPES,
    OptionRow,
    Slot,
    language_name,
)
from intake.questionnaire import AREAS, LONG_TEXT_MAX, SHORT_TEXT_MAX

TEXT_MAX = 2000
TYPE_LABELS = {
    "short_text": gettext_lazy("Short text (one line)"),
    "long_text": gettext_lazy("Long text (several lines)"),
    "single_choice": gettext_lazy("Choice of one answer"),
    "multiple_choice": gettext_lazy("Choice of several answers"),
    "checkbox": gettext_lazy("Tick box (yes or no)"),
    "date": gettext_lazy("Date"),
    "file": gettext_lazy("Files (evidence)"),
}


class _TextsForm(forms.Form):
    """A form with per-language text fields, grouped for the template."""

    def __init__(self, *args: Any, languages: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.languages = languages
        self.text_groups: list[tuple[str, list[str]]] = []

    def add_texts(
        self, name: str, title: str, *, required: bool, long: bool, initial: Any = None
    ) -> None:
        names = []
        texts = initial if isinstance(initial, dict) else {}
        for i, lang in enumerate(self.languages):
            field_name = f"{name}_{lang}"
            self.fields[field_name] = forms.CharField(
                label=f"{title} ({language_name(lang)})",
                required=required and i == 0,
                max_length=TEXT_MAX,
                initial=texts.get(lang, ""),
                widget=forms.Textarea(attrs={"rows": 3}) if long else forms.TextInput(),
            )
            names.append(field_name)
        self.text_groups.append((name, names))

    def texts(self, name: str) -> dict[str, str]:
        return {
            lang: self.cleaned_data[f"{name}_{lang}"].strip()
            for lang in self.languages
            if self.cleaned_data.get(f"{name}_{lang}", "").strip()
        }

    def groups(self) -> list[list[forms.BoundField]]:
        return [[self[n] for n in names] for _name, names in self.text_groups]


class CategoryForm(_TextsForm):
    def __init__(self, *args: Any, item: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        item = item or {}
        self.add_texts(
            "label", _("Name of the topic"), required=True, long=False, initial=item.get("label")
        )
        self.add_texts(
            "description",
            _("Explanation"),
            required=False,
            long=True,
            initial=item.get("description"),
        )
        self.fields["area"] = forms.ChoiceField(
            label=_("Area of HinSchG § 2"),
            help_text=_(
                "Used to sort reports and for the statistics. Choose the last entry for topics "
                "of your own outside the law."
            ),
            choices=list(AREAS.items()),
            widget=forms.RadioSelect,
            initial=item.get("area"),
        )

    def values(self) -> dict[str, Any]:
        return {
            "label": self.texts("label"),
            "description": self.texts("description"),
            "area": self.cleaned_data["area"],
        }


class StepForm(_TextsForm):
    def __init__(self, *args: Any, item: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        item = item or {}
        self.add_texts(
            "title", _("Title of the step"), required=True, long=False, initial=item.get("title")
        )
        self.add_texts(
            "intro",
            _("Introduction"),
            required=False,
            long=True,
            initial=item.get("intro"),
        )

    def values(self) -> dict[str, Any]:
        return {"title": self.texts("title"), "intro": self.texts("intro")}


class QuestionForm(_TextsForm):
    """A question of any type; answers to choose from as rows (two empty rows for new ones);
    the condition as a list of the earlier answers it can depend on."""

    def __init__(
        self,
        *args: Any,
        item: dict[str, Any] | None = None,
        step_choices: list[tuple[str, str]],
        step: str,
        condition_choices: list[tuple[str, str]],
        condition_initial: list[str],
        condition_kept: str = "",
        extra_rows: int = 2,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        item = item or {}
        self.fields["type"] = forms.ChoiceField(
            label=_("Kind of answer"),
            choices=list(TYPE_LABELS.items()),
            widget=forms.RadioSelect,
            initial=item.get("type", "short_text"),
        )
        self.fields["step"] = forms.ChoiceField(label=_("Step"), choices=step_choices, initial=step)
        self.add_texts("label", _("Question"), required=True, long=False, initial=item.get("label"))
        self.add_texts("help", _("Help text"), required=False, long=True, initial=item.get("help"))
        self.fields["required"] = forms.BooleanField(
            label=_("An answer is required"),
            required=False,
            initial=bool(item.get("required")),
            help_text=_(
                "For a question with a condition: required only when it is shown. For a tick "
                "box: it must be ticked."
            ),
        )
        self.fields["max_length"] = forms.IntegerField(
            label=_("Longest answer (characters, texts only, optional)"),
            required=False,
            min_value=1,
            max_value=LONG_TEXT_MAX,
            initial=item.get("max_length"),
        )
        options = item.get("options") or []
        posted_rows = self._posted_rows()
        self.option_rows: list[list[str]] = []
        for i in range(max(len(options) + extra_rows, posted_rows)):
            option = options[i] if i < len(options) else {}
            self.fields[f"opt{i}_id"] = forms.CharField(
                required=False, widget=forms.HiddenInput, initial=option.get("id", "")
            )
            names = [f"opt{i}_id"]
            label = option.get("label")
            texts: dict[str, str] = label if isinstance(label, dict) else {}
            for lang in self.languages:
                self.fields[f"opt{i}_{lang}"] = forms.CharField(
                    label=_("Answer %(n)s (%(language)s)")
                    % {"n": i + 1, "language": language_name(lang)},
                    required=False,
                    max_length=TEXT_MAX,
                    initial=texts.get(lang, ""),
                )
                names.append(f"opt{i}_{lang}")
            self.option_rows.append(names)
        self.fields["show_if"] = forms.MultipleChoiceField(
            label=_("Show this question only if"),
            help_text=_(
                "Leave empty to always show it. Tick one or more answers of one earlier "
                "question: the question is shown when any of them is given."
            ),
            choices=condition_choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            initial=condition_initial,
        )
        if condition_kept:
            self.fields["keep_condition"] = forms.BooleanField(
                label=_("Keep the present condition: %s") % condition_kept,
                help_text=_(
                    "It comes from an imported file and cannot be shown above. Untick it and "
                    "choose answers above to replace it, or leave both empty to remove it."
                ),
                required=False,
                initial=True,
            )

    def _posted_rows(self) -> int:
        if not self.is_bound:
            return 0
        n = 0
        while f"{self.add_prefix(f'opt{n}_id')}" in self.data:
            n += 1
        return n

    def rows(self) -> list[list[forms.BoundField]]:
        return [[self[n] for n in names] for names in self.option_rows]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        qtype = cleaned.get("type")
        if qtype in CHOICE_TYPES:
            for names in self.option_rows:
                texts = [cleaned.get(n, "").strip() for n in names[1:]]
                if any(texts) and not texts[0]:
                    self.add_error(
                        names[1], _("Give this answer a text in the main language, or empty it.")
                    )
            if len(self._options(cleaned)) < 2:
                self.add_error(None, _("A choice needs at least two answers to choose from."))
        limit = SHORT_TEXT_MAX if qtype == "short_text" else LONG_TEXT_MAX
        if qtype in TEXT_TYPES and (cleaned.get("max_length") or 0) > limit:
            self.add_error(
                "max_length",
                _("A short text can be at most %(limit)s characters.") % {"limit": limit},
            )
        condition = cleaned.get("show_if") or []
        if len({c.partition(":")[0] for c in condition}) > 1:
            self.add_error("show_if", _("Choose answers of one question only."))
        return cleaned

    def _options(self, cleaned: dict[str, Any]) -> list[OptionRow]:
        rows = []
        for names in self.option_rows:
            label = {
                lang: cleaned.get(f"{names[0][:-3]}_{lang}", "").strip()
                for lang in self.languages
                if cleaned.get(f"{names[0][:-3]}_{lang}", "").strip()
            }
            if label:
                rows.append(OptionRow(id=cleaned.get(names[0]) or None, label=label))
        return rows

    def values(self) -> dict[str, Any]:
        return {
            "type": self.cleaned_data["type"],
            "step": self.cleaned_data["step"],
            "label": self.texts("label"),
            "help": self.texts("help"),
            "required": self.cleaned_data.get("required", False),
            "max_length": self.cleaned_data.get("max_length"),
            "options": self._options(self.cleaned_data),
            "show_if": self.cleaned_data.get("show_if") or [],
            "keep_condition": self.cleaned_data.get("keep_condition", False),
        }


class TranslationForm(forms.Form):
    """Every text of the questionnaire in one language, with the main language's text as a
    guide."""

    def __init__(
        self,
        *args: Any,
        slots: list[Slot],
        language: str,
        main: str,
        only_missing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.slots = [s for s in slots if s.missing_in(language)] if only_missing else slots
        self.language = language
        for slot in self.slots:
            source = slot.texts.get(main, "")
            if language != main and not source and not slot.texts.get(language):
                continue  # an optional text nobody wrote: nothing to translate
            # Named by the text's key, not its position: a form posted after someone else
            # changed the draft still writes each text to its own place.
            self.fields[f"text:{slot.key}"] = forms.CharField(
                label=slot.where,
                required=slot.required and language == main,
                max_length=TEXT_MAX,
                initial=slot.texts.get(language, ""),
                help_text=(
                    _("%(language)s: %(text)s") % {"language": language_name(main), "text": source}
                    if language != main and source
                    else ""
                ),
                widget=forms.Textarea(attrs={"rows": 3}) if slot.long else forms.TextInput(),
            )

    def texts(self) -> list[tuple[str, str]]:
        return [
            (slot.key, self.cleaned_data[f"text:{slot.key}"])
            for slot in self.slots
            if f"text:{slot.key}" in self.cleaned_data
        ]


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Questionnaire file (JSON)"),
        help_text=gettext_lazy(
            "Replaces the draft. If the file is not valid, the draft stays as it is."
        ),
    )
