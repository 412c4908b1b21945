"""Questionnaires as data: parsing and validation of the JSON definition, conditions, forms.

A tenant's questionnaire is a JSON document (see ``default_questionnaire.json``) stored as a
versioned row; a case keeps the version it was filed with and always renders with it. Texts
are given per language (``{"de": "…", "en": "…"}``) so a tenant can edit them without a
translation catalogue; the default questionnaire ships complete German and English texts.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

DEFAULT_PATH = Path(__file__).with_name("default_questionnaire.json")
QUESTION_TYPES = (
    "short_text",
    "long_text",
    "single_choice",
    "multiple_choice",
    "checkbox",
    "date",
    "file",
)
SHORT_TEXT_MAX = 500
LONG_TEXT_MAX = 20_000
#: The areas of HinSchG § 2 a category can be mapped to (WF-3), for triage and statistics.
#: Optional in the schema: versions stored before the mapping existed have none.
AREAS: dict[str, Any] = {
    "criminal": _("§ 2(1) no. 1: criminal offences"),
    "fines": _(
        "§ 2(1) no. 2: administrative offences against rules protecting life, health or employees"
    ),
    "listed_areas": _(
        "§ 2(1) no. 3: breaches in the listed areas of law (e.g. money laundering, product "
        "safety, transport, environment, food, health, consumer and data protection)"
    ),
    "procurement": _("§ 2(1) no. 4: public procurement"),
    "financial_supervision": _("§ 2(1) no. 5: financial services supervision"),
    "tax": _("§ 2(1) nos. 6 and 7: corporate tax and tax arrangements"),
    "competition": _("§ 2(1) nos. 8 and 9: competition law and digital markets"),
    "constitution": _("§ 2(1) no. 10: civil servants' duty of loyalty to the constitution"),
    "eu_interests": _("§ 2(2): financial interests of the EU and the internal market"),
    "outside": _("None of § 2 (own topic; the office checks whether the law applies)"),
}


class QuestionnaireError(ValueError):
    """The JSON definition is not a valid questionnaire; the message says where and why."""


def _text(value: Any, where: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"de": value}
    if (
        not isinstance(value, dict)
        or not value
        or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()
        )
    ):
        raise QuestionnaireError(f"{where}: expected a text or a {{language: text}} object")
    return dict(value)


def localised(texts: dict[str, str], language: str | None = None) -> str:
    """The text in the active language, else German, else any."""
    language = (language or get_language() or "de")[:2]
    return texts.get(language) or texts.get("de") or next(iter(texts.values()))


@dataclass(frozen=True)
class Option:
    id: str
    label: dict[str, str]


@dataclass(frozen=True)
class Condition:
    """Show a question only if another question's answer is one of ``values``."""

    question: str
    values: tuple[Any, ...]

    def holds(self, answers: dict[str, Any]) -> bool:
        answer = answers.get(self.question)
        if isinstance(answer, list):
            return any(a in self.values for a in answer)
        return answer in self.values


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    label: dict[str, str]
    help: dict[str, str] | None = None
    required: bool = False
    max_length: int | None = None
    options: tuple[Option, ...] = ()
    show_if: Condition | None = None

    def visible(self, answers: dict[str, Any]) -> bool:
        return self.show_if is None or self.show_if.holds(answers)


@dataclass(frozen=True)
class Step:
    id: str
    title: dict[str, str]
    questions: tuple[Question, ...]
    intro: dict[str, str] | None = None


@dataclass(frozen=True)
class Category:
    id: str
    label: dict[str, str]
    description: dict[str, str] | None = None
    #: A key of :data:`AREAS`; None in versions stored before the mapping existed.
    area: str | None = None


@dataclass(frozen=True)
class Definition:
    categories: tuple[Category, ...]
    steps: tuple[Step, ...]
    questions_by_id: dict[str, Question] = field(default_factory=dict)

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def step_index(self, step_id: str) -> int | None:
        return next((i for i, s in enumerate(self.steps) if s.id == step_id), None)

    def visible_answers(self, answers: dict[str, Any]) -> dict[str, Any]:
        """Only the answers whose questions are visible, in questionnaire order.

        Conditions are evaluated again on the server; an answer to a question that the
        reporter's other answers hide is dropped, whatever the browser sent.
        """
        kept: dict[str, Any] = {}
        for step in self.steps:
            for question in step.questions:
                if question.id in answers and question.visible(answers):
                    kept[question.id] = answers[question.id]
        return kept


def _ident(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or not value.replace("_", "").isalnum():
        raise QuestionnaireError(f"{where}: ids are letters, digits and underscores")
    return value


def _area(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if value not in AREAS:
        raise QuestionnaireError(f"{where}: one of {', '.join(AREAS)}")
    return str(value)


def parse(data: Any) -> Definition:
    """Validate a questionnaire definition (parsed JSON) and return it as objects."""
    if not isinstance(data, dict):
        raise QuestionnaireError("the questionnaire must be a JSON object")
    categories = []
    for i, raw in enumerate(data.get("categories") or []):
        where = f"categories[{i}]"
        categories.append(
            Category(
                id=_ident(raw.get("id"), where),
                label=_text(raw.get("label"), f"{where}.label"),
                description=_text(raw["description"], f"{where}.description")
                if raw.get("description")
                else None,
                area=_area(raw.get("area"), f"{where}.area"),
            )
        )
    if not categories:
        raise QuestionnaireError("categories: at least one category is needed")
    steps: list[Step] = []
    seen: dict[str, Question] = {}
    for s, raw_step in enumerate(data.get("steps") or []):
        questions = []
        for q, raw in enumerate(raw_step.get("questions") or []):
            questions.append(_parse_question(raw, f"steps[{s}].questions[{q}]", seen))
            seen[questions[-1].id] = questions[-1]
        if not questions:
            raise QuestionnaireError(f"steps[{s}]: a step needs at least one question")
        steps.append(
            Step(
                id=_ident(raw_step.get("id"), f"steps[{s}]"),
                title=_text(raw_step.get("title"), f"steps[{s}].title"),
                intro=_text(raw_step["intro"], f"steps[{s}].intro")
                if raw_step.get("intro")
                else None,
                questions=tuple(questions),
            )
        )
    if not steps:
        raise QuestionnaireError("steps: at least one step is needed")
    if len({c.id for c in categories}) != len(categories):
        raise QuestionnaireError("categories: ids must be unique")
    if len({s.id for s in steps}) != len(steps):
        raise QuestionnaireError("steps: ids must be unique")
    return Definition(categories=tuple(categories), steps=tuple(steps), questions_by_id=seen)


def _parse_question(raw: Any, where: str, earlier: dict[str, Question]) -> Question:
    if not isinstance(raw, dict):
        raise QuestionnaireError(f"{where}: expected an object")
    qid = _ident(raw.get("id"), where)
    if qid in earlier:
        raise QuestionnaireError(f"{where}: the id {qid!r} is used twice")
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        raise QuestionnaireError(f"{where}.type: one of {', '.join(QUESTION_TYPES)}")
    options = tuple(
        Option(id=_ident(o.get("id"), f"{where}.options"), label=_text(o.get("label"), where))
        for o in raw.get("options") or []
    )
    if qtype in ("single_choice", "multiple_choice") and len(options) < 2:
        raise QuestionnaireError(f"{where}: a choice needs at least two options")
    limit = SHORT_TEXT_MAX if qtype == "short_text" else LONG_TEXT_MAX
    max_length = raw.get("max_length")
    if max_length is not None and (not isinstance(max_length, int) or not 1 <= max_length <= limit):
        raise QuestionnaireError(f"{where}.max_length: a whole number from 1 to {limit}")
    condition = None
    if raw.get("show_if"):
        cond = raw["show_if"]
        target = earlier.get(cond.get("question", ""))
        if target is None:
            raise QuestionnaireError(f"{where}.show_if: must name an earlier question")
        values = cond.get("in", [cond.get("equals")])
        if not isinstance(values, list) or not values:
            raise QuestionnaireError(f"{where}.show_if: give 'equals' or a list 'in'")
        condition = Condition(question=target.id, values=tuple(values))
    return Question(
        id=qid,
        type=qtype,
        label=_text(raw.get("label"), f"{where}.label"),
        help=_text(raw["help"], f"{where}.help") if raw.get("help") else None,
        required=bool(raw.get("required", False)),
        max_length=max_length or (limit if qtype in ("short_text", "long_text") else None),
        options=options,
        show_if=condition,
    )


def default_definition_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    return data


# --- forms ----------------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


def _describe_condition(question: Question, definition: Definition) -> str:
    if question.show_if is None:
        return ""
    target = definition.questions_by_id[question.show_if.question]
    labels = [localised(o.label) for o in target.options if o.id in question.show_if.values] or [
        str(v) for v in question.show_if.values
    ]
    return str(
        _("Only if your answer to “%(question)s” was: %(answers)s")
        % {"question": localised(target.label), "answers": ", ".join(labels)}
    )


def _field(question: Question, definition: Definition) -> forms.Field:
    help_parts = [localised(question.help)] if question.help else []
    if question.show_if is not None:
        help_parts.append(_describe_condition(question, definition))
    kwargs: dict[str, Any] = {
        "label": localised(question.label),
        "required": question.required and question.show_if is None,
        "help_text": " ".join(help_parts),
    }
    choices = [(o.id, localised(o.label)) for o in question.options]
    if question.type == "short_text":
        return forms.CharField(max_length=question.max_length, **kwargs)
    if question.type == "long_text":
        return forms.CharField(
            max_length=question.max_length, widget=forms.Textarea(attrs={"rows": 8}), **kwargs
        )
    if question.type == "single_choice":
        return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **kwargs)
    if question.type == "multiple_choice":
        return forms.MultipleChoiceField(
            choices=choices, widget=forms.CheckboxSelectMultiple, **kwargs
        )
    if question.type == "checkbox":
        return forms.BooleanField(**kwargs)
    if question.type == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **kwargs)
    # Files arrive before the form is validated (they are cleaned and encrypted as they come,
    # by the view); a required file question is checked against ``uploaded`` in ``clean``.
    kwargs["required"] = False
    return MultipleFileField(**kwargs)


class StepForm(forms.Form):
    """One step of the questionnaire, its fields built from the step's questions.

    Conditional questions are optional as fields and checked in ``clean`` against the answers
    given so far plus this step's, exactly as they will be evaluated on submission: required
    where the condition holds, dropped where it does not. ``uploaded``: the file questions of
    this step that already have a file (a required one without is an error).
    """

    def __init__(
        self,
        step: Step,
        definition: Definition,
        *,
        data: Any = None,
        files: Any = None,
        initial: dict[str, Any] | None = None,
        answers_so_far: dict[str, Any] | None = None,
        uploaded: Collection[str] = (),
    ) -> None:
        super().__init__(data=data, files=files, initial=initial or {})
        self.step = step
        self.answers_so_far = answers_so_far or {}
        self.uploaded = frozenset(uploaded)
        for question in step.questions:
            self.fields[question.id] = _field(question, definition)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        merged = {**self.answers_so_far, **answers_of(self.step, cleaned)}
        required = forms.Field.default_error_messages["required"]
        for question in self.step.questions:
            if question.type == "file":
                if question.required and question.id not in self.uploaded:
                    self.add_error(question.id, required)
                continue
            if question.show_if is None:
                continue
            if question.show_if.holds(merged):
                if question.required and cleaned.get(question.id) in (None, "", [], False):
                    self.add_error(question.id, required)
            else:
                cleaned.pop(question.id, None)
        return cleaned


def step_form(
    step: Step,
    definition: Definition,
    *,
    data: Any = None,
    files: Any = None,
    initial: dict[str, Any] | None = None,
    answers_so_far: dict[str, Any] | None = None,
) -> StepForm:
    """``StepForm`` for one step (kept for callers that build the form by function)."""
    return StepForm(
        step, definition, data=data, files=files, initial=initial, answers_so_far=answers_so_far
    )


# --- answers --------------------------------------------------------------------------------


def answers_of(step: Step, cleaned: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready answers of ``step`` among a form's cleaned values (files excluded, empty
    answers left out)."""
    answers: dict[str, Any] = {}
    for question in step.questions:
        if question.type == "file":
            continue
        value = cleaned.get(question.id)
        if value in (None, "", []) or (question.type == "checkbox" and value is False):
            continue
        answers[question.id] = value.isoformat() if isinstance(value, datetime.date) else value
    return answers


def answers_from_form(step: Step, form: forms.Form) -> dict[str, Any]:
    """JSON-ready answers of a valid step form (files excluded, empty answers left out)."""
    return answers_of(step, form.cleaned_data)


def initial_for(step: Step, answers: dict[str, Any]) -> dict[str, Any]:
    return {q.id: answers[q.id] for q in step.questions if q.id in answers and q.type != "file"}


@dataclass(frozen=True)
class RenderedAnswer:
    question: str
    value: str


@dataclass(frozen=True)
class RenderedStep:
    id: str
    title: str
    rows: list[RenderedAnswer]


def render_answers(definition: Definition, answers: dict[str, Any]) -> list[RenderedStep]:
    """Answers as question/answer text pairs per step, in the active language."""
    out = []
    for step in definition.steps:
        rows = [
            RenderedAnswer(localised(q.label), _display(q, answers[q.id]))
            for q in step.questions
            if q.id in answers and q.type != "file"
        ]
        if rows:
            out.append(RenderedStep(id=step.id, title=localised(step.title), rows=rows))
    return out


def _display(question: Question, value: Any) -> str:
    labels = {o.id: localised(o.label) for o in question.options}
    if question.type == "checkbox":
        return str(_("Yes")) if value else str(_("No"))
    if question.type == "multiple_choice" and isinstance(value, list):
        return ", ".join(labels.get(v, str(v)) for v in value)
    if question.type == "single_choice":
        return labels.get(value, str(value))
    if question.type == "date":
        try:
            from django.utils.formats import date_format

            return date_format(datetime.date.fromisoformat(value), "DATE_FORMAT")
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def validate_json_text(text: str) -> Definition:
    """Parse questionnaire JSON text, for import: raises ``ValidationError`` with the reason."""
    try:
        return parse(json.loads(text))
    except (json.JSONDecodeError, QuestionnaireError, AttributeError, TypeError) as exc:
        raise ValidationError(str(exc)) from None
