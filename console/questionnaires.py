"""The questionnaire editor's model: a server-side draft of a tenant's questionnaire, the edits
the editor makes to it, what is still missing before it can be published, and publishing it
as a new version (cases keep the version they were filed with).

The draft is the questionnaire JSON itself (``intake.questionnaire``), edited in place: what the
editor shows, the JSON export and the import are one and the same document. Items are named
by references: ``c:<id>`` a category (topic), ``s:<id>`` a step, ``q:<id>`` a question.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from casework.audit import audit_record
from console.models import QuestionnaireDraft
from intake.models import Questionnaire
from intake.questionnaire import (
    AREAS,
    QuestionnaireError,
    default_definition_json,
    localised,
    parse,
)
from intake.services import questionnaire_current, questionnaire_import
from whistle.accounts.models import User
from whistle.tenants.models import Tenant

CHOICE_TYPES = ("single_choice", "multiple_choice")
#: Questions another question can depend on ("show X only when Y has answer Z").
CONDITION_TYPES = ("single_choice", "multiple_choice", "checkbox")
TEXT_TYPES = ("short_text", "long_text")
TICKED = "__ticked"  # the condition value of a ticked checkbox in forms (True in the JSON)


class EditRefused(Exception):
    """An edit that would break the questionnaire; ``problems`` say why, in plain words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def editor_languages(tenant: Tenant) -> list[str]:
    """The tenant's enabled languages that Whistle offers, the first one being the main one."""
    known = {code for code, _name in settings.LANGUAGES}
    return [code for code in tenant.languages if code in known] or [settings.LANGUAGES[0][0]]


def name_of(texts: Any, language: str | None = None) -> str:
    if isinstance(texts, str):
        return texts
    if isinstance(texts, dict) and any(isinstance(v, str) and v for v in texts.values()):
        return localised({k: v for k, v in texts.items() if v}, language)
    return _("(no text yet)")


# --- finding items --------------------------------------------------------------------------


def _list(holder: dict[str, Any], key: str, *, create: bool = False) -> list[dict[str, Any]]:
    """``holder[key]`` if it is a list (created when asked to, for adding to it), else an empty
    list: reading never changes the document."""
    found = holder.get(key)
    if isinstance(found, list):
        return found
    if create:
        holder[key] = []
        return holder[key]  # type: ignore[no-any-return]
    return []


def categories(data: dict[str, Any], *, create: bool = False) -> list[dict[str, Any]]:
    return _list(data, "categories", create=create)


def steps(data: dict[str, Any], *, create: bool = False) -> list[dict[str, Any]]:
    return _list(data, "steps", create=create)


def questions(step: dict[str, Any], *, create: bool = False) -> list[dict[str, Any]]:
    return _list(step, "questions", create=create)


def all_questions(data: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(step, question) pairs in questionnaire order."""
    return [(s, q) for s in steps(data) for q in questions(s)]


def find(data: dict[str, Any], ref: str) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    """The list holding the item named by ``ref`` and the item, or None."""
    kind, _sep, ident = ref.partition(":")
    if kind == "c":
        holder = categories(data)
    elif kind == "s":
        holder = steps(data)
    elif kind == "q":
        for step in steps(data):
            for question in questions(step):
                if question.get("id") == ident:
                    return questions(step), question
        return None
    else:
        return None
    item = next((i for i in holder if i.get("id") == ident), None)
    return None if item is None else (holder, item)


def new_id(label: str, taken: set[str], fallback: str) -> str:
    base = slugify(label).replace("-", "_")[:40].strip("_") or fallback
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def _first(texts: dict[str, str]) -> str:
    """The text in the main language (forms list it first): new ids are made from it."""
    return next(iter(texts.values()), "")


def question_ids(data: dict[str, Any]) -> set[str]:
    return {str(q.get("id")) for _s, q in all_questions(data)}


# --- what is missing ------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One text of the questionnaire, in all languages."""

    key: str
    where: str
    texts: dict[str, str]
    required: bool
    long: bool = False

    def missing_in(self, language: str) -> bool:
        given = any(v.strip() for v in self.texts.values() if isinstance(v, str))
        return (self.required or given) and not str(self.texts.get(language) or "").strip()


def _texts(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        return {"de": value}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if isinstance(v, str)}
    return {}


def text_slots(data: dict[str, Any]) -> list[Slot]:
    """Every text of the questionnaire, in the order the editor shows them."""
    out: list[Slot] = []
    for c in categories(data):
        name = name_of(c.get("label"))
        cid = c.get("id")
        out.append(
            Slot(f"c:{cid}:label", _("Topic “%s”: name") % name, _texts(c.get("label")), True)
        )
        out.append(
            Slot(
                f"c:{cid}:description",
                _("Topic “%s”: explanation") % name,
                _texts(c.get("description")),
                False,
                long=True,
            )
        )
    for s in steps(data):
        title = name_of(s.get("title"))
        sid = s.get("id")
        out.append(
            Slot(f"s:{sid}:title", _("Step “%s”: title") % title, _texts(s.get("title")), True)
        )
        out.append(
            Slot(
                f"s:{sid}:intro",
                _("Step “%s”: introduction") % title,
                _texts(s.get("intro")),
                False,
                long=True,
            )
        )
        for q in questions(s):
            label = name_of(q.get("label"))
            qid = q.get("id")
            out.append(
                Slot(f"q:{qid}:label", _("Question “%s”") % label, _texts(q.get("label")), True)
            )
            out.append(
                Slot(
                    f"q:{qid}:help",
                    _("Question “%s”: help text") % label,
                    _texts(q.get("help")),
                    False,
                    long=True,
                )
            )
            for o in q.get("options") or []:
                out.append(
                    Slot(
                        f"o:{qid}:{o.get('id')}:label",
                        _("Question “%(question)s”: answer “%(answer)s”")
                        % {"question": label, "answer": name_of(o.get("label"))},
                        _texts(o.get("label")),
                        True,
                    )
                )
    return out


def missing_translations(data: dict[str, Any], languages: list[str]) -> dict[str, list[str]]:
    """Per enabled language, the texts still missing in it (empty lists left out)."""
    slots = text_slots(data)
    out = {lang: [s.where for s in slots if s.missing_in(lang)] for lang in languages}
    return {lang: found for lang, found in out.items() if found}


def set_text(data: dict[str, Any], key: str, language: str, value: str) -> None:
    """Set (or, when empty, remove) one language of the text ``key`` (see :func:`text_slots`)."""
    kind, _sep, rest = key.partition(":")
    if kind == "o":
        qid, oid, _attr = rest.split(":", 2)
        found = find(data, f"q:{qid}")
        if found is None:
            return
        owner = next((o for o in found[1].get("options") or [] if o.get("id") == oid), None)
        attr = "label"
    else:
        ident, _sep, attr = rest.rpartition(":")
        hit = find(data, f"{kind}:{ident}")
        owner = None if hit is None else hit[1]
    if owner is None:
        return
    texts = _texts(owner.get(attr))
    if value.strip():
        texts[language] = value.strip()
    else:
        texts.pop(language, None)
    if texts:
        owner[attr] = texts
    else:
        owner.pop(attr, None)


def condition_problems(data: dict[str, Any], *, strict: bool = True) -> list[str]:
    """Conditions that no longer work: the question they depend on is gone, comes later, or
    no longer has the answer named. ``strict`` adds conditions the editor cannot show (on a
    text, or a tick box left empty): valid in the schema, so an imported file may have them,
    but an edit must not create them."""
    problems: list[str] = []
    earlier: dict[str, dict[str, Any]] = {}
    for _step, q in all_questions(data):
        cond = q.get("show_if")
        if isinstance(cond, dict):
            label = name_of(q.get("label"))
            target_id = cond.get("question")
            target = earlier.get(str(target_id))
            values = cond.get("in", [cond.get("equals")])
            if target is None:
                problems.append(
                    _(
                        "Question “%s” is shown depending on another question, which must "
                        "come before it. Move it, or change its condition."
                    )
                    % label
                )
            elif target.get("type") in CHOICE_TYPES:
                options = {o.get("id") for o in target.get("options") or []}
                if not isinstance(values, list) or not set(values) <= options:
                    problems.append(
                        _(
                            "Question “%(question)s” depends on an answer to “%(target)s” "
                            "that no longer exists. Change its condition."
                        )
                        % {"question": label, "target": name_of(target.get("label"))}
                    )
            elif not strict:
                pass
            elif target.get("type") == "checkbox":
                if values != [True]:
                    problems.append(
                        _("Question “%s” depends on a tick box in a way the editor cannot show.")
                        % label
                    )
            else:
                problems.append(
                    _(
                        "Question “%(question)s” depends on “%(target)s”, which is no choice "
                        "or tick box any more. Change its condition."
                    )
                    % {"question": label, "target": name_of(target.get("label"))}
                )
        earlier[str(q.get("id"))] = q
    return problems


def structure_problems(data: dict[str, Any]) -> list[str]:
    """What must be fixed before publishing, apart from translations, in plain words."""
    problems: list[str] = []
    if not categories(data):
        problems.append(_("Add at least one topic."))
    for c in categories(data):
        if c.get("area") not in AREAS:
            problems.append(
                _("Topic “%s”: choose the area of HinSchG § 2 it belongs to.")
                % name_of(c.get("label"))
            )
    if not steps(data):
        problems.append(_("Add at least one step with a question."))
    for s in steps(data):
        if not questions(s):
            problems.append(
                _("Step “%s” has no questions: add one, or remove the step.")
                % name_of(s.get("title"))
            )
        for q in questions(s):
            if q.get("type") in CHOICE_TYPES and len(q.get("options") or []) < 2:
                problems.append(
                    _("Question “%s” needs at least two answers to choose from.")
                    % name_of(q.get("label"))
                )
    problems += condition_problems(data, strict=False)
    if not problems:
        try:
            parse(data)
        except (QuestionnaireError, AttributeError, TypeError) as exc:
            problems.append(_("Technical check: %s") % exc)
    return problems


@dataclass(frozen=True)
class Review:
    """Everything that stands between the draft and publishing it."""

    structure: list[str]
    missing: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return not self.structure and not self.missing


def review(data: dict[str, Any], languages: list[str]) -> Review:
    return Review(structure=structure_problems(data), missing=missing_translations(data, languages))


# --- edits ------------------------------------------------------------------------------------


def _guarded(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``after``, unless the edit broke a condition that worked before."""
    new = [p for p in condition_problems(after) if p not in condition_problems(before)]
    if new:
        raise EditRefused(new)
    return after


def move(data: dict[str, Any], ref: str, delta: int) -> dict[str, Any]:
    """Move an item up (-1) or down (+1) among its siblings; a question at the edge of its
    step moves into the neighbouring step."""
    after = copy.deepcopy(data)
    found = find(after, ref)
    if found is None:
        return data
    holder, item = found
    index = holder.index(item)
    target = index + delta
    if 0 <= target < len(holder):
        holder[index], holder[target] = holder[target], holder[index]
    elif ref.startswith("q:"):
        all_steps = steps(after)
        step_index = next(i for i, s in enumerate(all_steps) if questions(s) is holder)
        neighbour = step_index + delta
        if not 0 <= neighbour < len(all_steps):
            return data
        holder.remove(item)
        if delta < 0:
            questions(all_steps[neighbour], create=True).append(item)
        else:
            questions(all_steps[neighbour], create=True).insert(0, item)
    else:
        return data
    return _guarded(data, after)


def remove(data: dict[str, Any], ref: str) -> dict[str, Any]:
    after = copy.deepcopy(data)
    found = find(after, ref)
    if found is None:
        return data
    holder, item = found
    holder.remove(item)
    return _guarded(data, after)


def save_category(data: dict[str, Any], ref: str | None, values: dict[str, Any]) -> str:
    """Create or change a topic; returns its reference."""
    if ref is None:
        taken = {str(c.get("id")) for c in categories(data)}
        item: dict[str, Any] = {"id": new_id(_first(values["label"]), taken, "topic")}
        categories(data, create=True).append(item)
    else:
        found = find(data, ref)
        if found is None:
            raise EditRefused([_("This topic no longer exists in the draft.")])
        item = found[1]
    item["label"] = values["label"]
    _set_optional(item, "description", values.get("description"))
    item["area"] = values["area"]
    return f"c:{item['id']}"


def save_step(data: dict[str, Any], ref: str | None, values: dict[str, Any]) -> str:
    if ref is None:
        taken = {str(s.get("id")) for s in steps(data)}
        item: dict[str, Any] = {"id": new_id(_first(values["title"]), taken, "step")}
        item["questions"] = []
        steps(data, create=True).append(item)
    else:
        found = find(data, ref)
        if found is None:
            raise EditRefused([_("This step no longer exists in the draft.")])
        item = found[1]
    item["title"] = values["title"]
    _set_optional(item, "intro", values.get("intro"))
    return f"s:{item['id']}"


@dataclass
class OptionRow:
    id: str | None
    label: dict[str, str]


def save_question(
    data: dict[str, Any], ref: str | None, values: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """Create or change a question (in the step ``values["step"]``); returns the new draft
    and the question's reference. Refused when it would break another question's
    condition."""
    after = copy.deepcopy(data)
    target_step = find(after, f"s:{values['step']}")
    if target_step is None:
        raise EditRefused([_("This step no longer exists in the draft.")])
    if ref is None:
        item: dict[str, Any] = {
            "id": new_id(_first(values["label"]), question_ids(after), "question")
        }
        questions(target_step[1], create=True).append(item)
    else:
        found = find(after, ref)
        if found is None:
            raise EditRefused([_("This question no longer exists in the draft.")])
        holder, item = found
        if holder is not questions(target_step[1]):
            holder.remove(item)
            questions(target_step[1], create=True).append(item)
    qtype = values["type"]
    item["type"] = qtype
    item["label"] = values["label"]
    _set_optional(item, "help", values.get("help"))
    item["required"] = bool(values.get("required"))
    if qtype in TEXT_TYPES and values.get("max_length"):
        item["max_length"] = values["max_length"]
    else:
        item.pop("max_length", None)
    if qtype in CHOICE_TYPES:
        rows: list[OptionRow] = values.get("options") or []
        taken: set[str] = {r.id for r in rows if r.id}
        options = []
        for row in rows:
            oid = row.id or new_id(_first(row.label), taken, "answer")
            taken.add(oid)
            options.append({"id": oid, "label": row.label})
        item["options"] = options
    else:
        item.pop("options", None)
    condition: list[str] = values.get("show_if") or []
    if not condition and values.get("keep_condition") and "show_if" in item:
        pass  # a condition from an imported file that the form cannot show: kept as it is
    elif condition:
        target_id = condition[0].partition(":")[0]
        answers = [c.partition(":")[2] for c in condition]
        item["show_if"] = {
            "question": target_id,
            "in": [True if a == TICKED else a for a in answers],
        }
    else:
        item.pop("show_if", None)
    return _guarded(data, after), f"q:{item['id']}"


def _set_optional(item: dict[str, Any], key: str, texts: dict[str, str] | None) -> None:
    if texts:
        item[key] = texts
    else:
        item.pop(key, None)


def condition_choices(data: dict[str, Any], ref: str | None) -> list[tuple[str, str]]:
    """Answers a question can depend on: those of the choices and tick boxes before it (all
    of them for a new question)."""
    out: list[tuple[str, str]] = []
    for _step, q in all_questions(data):
        if ref is not None and f"q:{q.get('id')}" == ref:
            break
        label = name_of(q.get("label"))
        qid = q.get("id")
        if q.get("type") in CHOICE_TYPES:
            for o in q.get("options") or []:
                out.append(
                    (
                        f"{qid}:{o.get('id')}",
                        _("“%(question)s” is answered with “%(answer)s”")
                        % {"question": label, "answer": name_of(o.get("label"))},
                    )
                )
        elif q.get("type") == "checkbox":
            out.append((f"{qid}:{TICKED}", _("“%s” is ticked") % label))
    return out


def condition_shown(data: dict[str, Any], question: dict[str, Any]) -> bool:
    """Whether the question form can show the question's condition (or it has none)."""
    initial = condition_initial(question)
    if not isinstance(question.get("show_if"), dict):
        return True
    offered = {value for value, _label in condition_choices(data, f"q:{question.get('id')}")}
    return bool(initial) and set(initial) <= offered


def condition_initial(question: dict[str, Any]) -> list[str]:
    cond = question.get("show_if")
    if not isinstance(cond, dict):
        return []
    values = cond.get("in", [cond.get("equals")])
    if not isinstance(values, list):
        return []
    return [f"{cond.get('question')}:{TICKED if v is True else v}" for v in values]


def describe_condition(data: dict[str, Any], question: dict[str, Any]) -> str:
    """The question's condition in words, for the overview."""
    cond = question.get("show_if")
    if not isinstance(cond, dict):
        return ""
    found = find(data, f"q:{cond.get('question')}")
    if found is None:
        return _("Shown depending on a question that no longer exists")
    target = found[1]
    values = cond.get("in", [cond.get("equals")])
    labels = {o.get("id"): name_of(o.get("label")) for o in target.get("options") or []}
    answers = [
        _("ticked") if v is True else labels.get(v, str(v))
        for v in (values if isinstance(values, list) else [values])
    ]
    return _("Shown only if “%(question)s” is answered with: %(answers)s") % {
        "question": name_of(target.get("label")),
        "answers": ", ".join(answers),
    }


# --- the draft and publishing -----------------------------------------------------------------


def _with_default_areas(data: dict[str, Any]) -> dict[str, Any]:
    """Versions stored before categories had an area: the default questionnaire's topics get
    theirs back by id, so only topics of the tenant's own need a choice."""
    defaults = {c["id"]: c.get("area") for c in default_definition_json()["categories"]}
    for c in categories(data):
        if "area" not in c and defaults.get(c.get("id")):
            c["area"] = defaults[c.get("id")]
    return data


def draft_open(*, tenant: Tenant, actor: User) -> QuestionnaireDraft:
    """The tenant's draft, started from the current version when there is none."""
    draft = QuestionnaireDraft.objects.filter(tenant=tenant).first()
    if draft is not None:
        return draft
    current = questionnaire_current(tenant)
    with transaction.atomic():
        draft, _created = QuestionnaireDraft.objects.get_or_create(
            tenant=tenant,
            defaults={
                "definition": _with_default_areas(copy.deepcopy(current.definition)),
                "based_on": current.version,
                "updated_by": actor,
            },
        )
    return draft


def draft_store(*, draft: QuestionnaireDraft, definition: dict[str, Any], actor: User) -> None:
    draft.definition = definition
    draft.updated_by = actor
    draft.save(update_fields=["definition", "updated_by", "updated_at"])


def draft_discard(*, tenant: Tenant) -> None:
    QuestionnaireDraft.objects.filter(tenant=tenant).delete()


def parse_import(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    """A questionnaire JSON text for the draft: the definition, or the reasons it is refused."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [
            _("The file is not valid JSON (line %(line)s, column %(column)s): %(reason)s")
            % {"line": exc.lineno, "column": exc.colno, "reason": exc.msg}
        ]
    try:
        parse(data)
    except (QuestionnaireError, AttributeError, TypeError) as exc:
        return None, [_("The file is not a valid questionnaire: %s") % exc]
    return data, []


def draft_import(*, draft: QuestionnaireDraft, text: str, actor: User) -> list[str]:
    """Replace the draft by an uploaded questionnaire; on any error the draft stays as it was
    and the errors are returned."""
    data, errors = parse_import(text)
    if data is None:
        return errors
    draft_store(draft=draft, definition=_with_default_areas(data), actor=actor)
    return []


class PublishRefused(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def questionnaire_publish(*, tenant: Tenant, actor: User) -> Questionnaire:
    """Store the tenant's draft as its next questionnaire version (audited) and remove the
    draft. New reports use the new version; cases keep the version they were filed with.

    Raises :class:`PublishRefused` with everything still missing."""
    with transaction.atomic():
        draft = QuestionnaireDraft.objects.select_for_update().filter(tenant=tenant).first()
        if draft is None:
            raise PublishRefused([_("There is no draft to publish.")])
        found = review(draft.definition, editor_languages(tenant))
        problems = list(found.structure)
        for language, texts in found.missing.items():
            problems.append(
                _("%(count)s texts are missing in %(language)s.")
                % {"count": len(texts), "language": language_name(language)}
            )
        if problems:
            raise PublishRefused(problems)
        if draft.definition == questionnaire_current(tenant).definition:
            raise PublishRefused([_("The draft is the same as the published questionnaire.")])
        published = questionnaire_import(tenant=tenant, definition=draft.definition)
        audit_record(
            tenant=tenant,
            actor=actor,
            verb="questionnaire.published",
            object_type="questionnaire",
            object_id=str(published.version),
        )
        draft.delete()
    return published


def language_name(code: str) -> str:
    return str(dict(settings.LANGUAGES).get(code, code))
