"""The questionnaire editor (tenant admins only): one overview page with every topic, step and
question of the draft and what is still missing, an edit page per item, one translation form
per language, a preview that is the reporter's own pages, JSON export and import, and
publishing as a new version. Works without JavaScript: every change is a plain form post."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, QueryDict
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, get_urlconf, reverse, set_script_prefix, set_urlconf
from django.utils import translation
from django.utils.translation import gettext as _

from console import questionnaires as q
from console.models import QuestionnaireDraft
from console.questionnaire_forms import (
    TYPE_LABELS,
    CategoryForm,
    ImportForm,
    QuestionForm,
    StepForm,
    TranslationForm,
)
from intake.access import access_questionnaire
from intake.models import Questionnaire
from intake.questionnaire import AREAS, Definition, QuestionnaireError, parse, step_form
from intake.services import questionnaire_current
from intake.views.common import ready_offices
from intake.views.report import StartForm, start_page_context, step_page_context
from whistle.accounts.decorators import staff_required
from whistle.http import StaffRequest
from whistle.tenants.access import access_admin_tenant
from whistle.tenants.middleware import REPORTER_URLCONF
from whistle.tenants.models import Office, Tenant

IMPORT_MAX_BYTES = 1024 * 1024


def _editor_url(tenant: Tenant, **query: str) -> str:
    url = reverse("console:questionnaire", kwargs={"tenant_id": tenant.public_id})
    if query:
        params = QueryDict(mutable=True)
        params.update(query)
        url += "?" + params.urlencode()
    return url


def _anchor(ref: str) -> str:
    return "item-" + ref.replace(":", "-")


# --- the overview -----------------------------------------------------------------------------


def _overview(
    request: StaffRequest,
    tenant: Tenant,
    draft: QuestionnaireDraft,
    *,
    confirm: dict[str, str] | None = None,
    import_form: ImportForm | None = None,
    import_errors: list[str] | None = None,
    publish_problems: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    data = draft.definition
    languages = q.editor_languages(tenant)
    current = questionnaire_current(tenant)
    topics = [
        {
            "ref": f"c:{c.get('id')}",
            "anchor": _anchor(f"c:{c.get('id')}"),
            "name": q.name_of(c.get("label")),
            "area": AREAS.get(str(c.get("area")), ""),
        }
        for c in q.categories(data)
    ]
    step_rows = []
    for s in q.steps(data):
        step_rows.append(
            {
                "ref": f"s:{s.get('id')}",
                "anchor": _anchor(f"s:{s.get('id')}"),
                "title": q.name_of(s.get("title")),
                "questions": [
                    {
                        "ref": f"q:{x.get('id')}",
                        "anchor": _anchor(f"q:{x.get('id')}"),
                        "label": q.name_of(x.get("label")),
                        "type": TYPE_LABELS.get(str(x.get("type")), x.get("type")),
                        "required": bool(x.get("required")),
                        "condition": q.describe_condition(data, x),
                        "options": [q.name_of(o.get("label")) for o in x.get("options") or []],
                    }
                    for x in q.questions(s)
                ],
            }
        )
    found = q.review(data, languages)
    return render(
        request,
        "console/questionnaire/editor.html",
        {
            "admin_tenant": tenant,
            "draft": draft,
            "current": current,
            "changed": data != current.definition,
            "versions": Questionnaire.objects.filter(tenant=tenant)
            .order_by("-version")
            .values_list("version", flat=True),
            "outdated": draft.based_on != current.version,
            "topics": topics,
            "steps": step_rows,
            "review": found,
            "missing": [
                (code, q.language_name(code), found.missing.get(code, [])) for code in languages
            ],
            "languages": [(code, q.language_name(code)) for code in languages],
            "confirm": confirm,
            "import_form": import_form or ImportForm(),
            "import_errors": import_errors or [],
            "publish_problems": publish_problems or [],
        },
        status=status,
    )


@staff_required
def questionnaire_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    draft = q.draft_open(tenant=tenant, actor=request.user)
    if request.method == "POST":
        if "item" in request.POST:
            return _item_post(request, tenant, draft)
        return _overview_post(request, tenant, draft)
    if request.GET.get("edit") or request.GET.get("add"):
        return _item_get(request, tenant, draft)
    return _overview(request, tenant, draft)


def _overview_post(
    request: StaffRequest, tenant: Tenant, draft: QuestionnaireDraft
) -> HttpResponse:
    action = str(request.POST.get("action", ""))
    verb, _sep, ref = action.partition(":")
    data = draft.definition
    try:
        if verb in ("up", "down"):
            draft_data = q.move(data, ref, -1 if verb == "up" else 1)
            q.draft_store(draft=draft, definition=draft_data, actor=request.user)
            return redirect(_editor_url(tenant) + "#" + _anchor(ref))
        if verb == "remove":
            found = q.find(data, ref)
            if found is None:
                return redirect(_editor_url(tenant))
            return _overview(request, tenant, draft, confirm=_removal_question(ref, found[1]))
        if verb == "remove_confirmed":
            q.draft_store(draft=draft, definition=q.remove(data, ref), actor=request.user)
            messages.success(request, _("Removed from the draft."))
            return redirect(_editor_url(tenant))
    except q.EditRefused as refused:
        for problem in refused.problems:
            messages.error(request, problem)
        return redirect(_editor_url(tenant) + "#" + _anchor(ref))
    if action == "discard":
        return _overview(
            request,
            tenant,
            draft,
            confirm={
                "text": _(
                    "Discard all changes of the draft? It starts again from the published "
                    "version %(version)s."
                )
                % {"version": questionnaire_current(tenant).version},
                "action": "discard_confirmed",
                "button": _("Yes, discard the changes"),
            },
        )
    if action == "discard_confirmed":
        q.draft_discard(tenant=tenant)
        messages.success(request, _("The changes were discarded."))
        return redirect(_editor_url(tenant))
    if action == "publish":
        try:
            published = q.questionnaire_publish(tenant=tenant, actor=request.user)
        except q.PublishRefused as refused:
            return _overview(request, tenant, draft, publish_problems=refused.problems, status=400)
        messages.success(
            request,
            _(
                "Published as version %(version)s. New reports use it; reports already filed "
                "keep the version they were filed with."
            )
            % {"version": published.version},
        )
        return redirect(_editor_url(tenant))
    return redirect(_editor_url(tenant))


def _removal_question(ref: str, item: dict[str, Any]) -> dict[str, str]:
    if ref.startswith("s:"):
        count = len(item.get("questions") or [])
        text = _("Remove the step “%(title)s” and its %(count)s questions from the draft?") % {
            "title": q.name_of(item.get("title")),
            "count": count,
        }
    elif ref.startswith("c:"):
        text = _("Remove the topic “%s” from the draft?") % q.name_of(item.get("label"))
    else:
        text = _("Remove the question “%s” from the draft?") % q.name_of(item.get("label"))
    return {"text": text, "action": f"remove_confirmed:{ref}", "button": _("Yes, remove")}


# --- one item ---------------------------------------------------------------------------------


def _item_form(
    tenant: Tenant,
    data: dict[str, Any],
    ref: str,
    item: dict[str, Any] | None,
    *,
    post: Any = None,
    step: str = "",
) -> CategoryForm | StepForm | QuestionForm:
    languages = q.editor_languages(tenant)
    kind = ref.partition(":")[0]
    if kind == "c":
        return CategoryForm(post, item=item, languages=languages)
    if kind == "s":
        return StepForm(post, item=item, languages=languages)
    step_choices = [(str(s.get("id")), q.name_of(s.get("title"))) for s in q.steps(data)]
    if item is not None:
        step = next(
            (str(s.get("id")) for s in q.steps(data) if any(x is item for x in q.questions(s))),
            step,
        )
    existing = None if ref.endswith(":new") else ref
    return QuestionForm(
        post,
        item=item,
        languages=languages,
        step_choices=step_choices,
        step=step or (step_choices[0][0] if step_choices else ""),
        condition_choices=q.condition_choices(data, existing),
        condition_initial=q.condition_initial(item or {}),
        condition_kept=""
        if item is None or q.condition_shown(data, item)
        else q.describe_condition(data, item),
    )


def _render_item(
    request: StaffRequest,
    tenant: Tenant,
    ref: str,
    form: CategoryForm | StepForm | QuestionForm,
    *,
    status: int = 200,
) -> HttpResponse:
    kind = ref.partition(":")[0]
    titles = {
        "c": (_("New topic"), _("Change the topic")),
        "s": (_("New step"), _("Change the step")),
        "q": (_("New question"), _("Change the question")),
    }
    new, change = titles[kind]
    return render(
        request,
        "console/questionnaire/item.html",
        {
            "admin_tenant": tenant,
            "form": form,
            "ref": ref,
            "kind": kind,
            "heading": new if ref.endswith(":new") else change,
            "back": _editor_url(tenant) + ("" if ref.endswith(":new") else "#" + _anchor(ref)),
            "choice_types": ", ".join(str(TYPE_LABELS[t]) for t in q.CHOICE_TYPES),
        },
        status=status,
    )


def _item_get(request: StaffRequest, tenant: Tenant, draft: QuestionnaireDraft) -> HttpResponse:
    data = draft.definition
    add = str(request.GET.get("add", ""))
    if add in ("category", "step", "question"):
        ref = {"category": "c", "step": "s", "question": "q"}[add] + ":new"
        if add == "question" and not q.steps(data):
            messages.error(request, _("Add a step first: questions belong to a step."))
            return redirect(_editor_url(tenant))
        form = _item_form(tenant, data, ref, None, step=str(request.GET.get("step", "")))
        return _render_item(request, tenant, ref, form)
    ref = str(request.GET.get("edit", ""))
    found = q.find(data, ref)
    if found is None:
        messages.error(request, _("This item no longer exists in the draft."))
        return redirect(_editor_url(tenant))
    return _render_item(request, tenant, ref, _item_form(tenant, data, ref, found[1]))


def _row_action(post: QueryDict, action: str, languages: list[str]) -> QueryDict:
    """Apply an answer row's button (remove, move up) to the posted rows before validation,
    so that whatever else was typed is saved with it."""
    verb, _sep, index_text = action.partition(":")
    if not index_text.isdigit():
        return post
    i = int(index_text)
    post = post.copy()
    keys = ["id", *languages]
    if verb == "option_remove":
        for key in keys:
            post[f"opt{i}_{key}"] = ""
    elif verb == "option_up" and i > 0:
        for key in keys:
            above, here = post.get(f"opt{i - 1}_{key}", ""), post.get(f"opt{i}_{key}", "")
            post[f"opt{i - 1}_{key}"], post[f"opt{i}_{key}"] = here, above
    return post


def _item_post(request: StaffRequest, tenant: Tenant, draft: QuestionnaireDraft) -> HttpResponse:
    data = draft.definition
    ref = str(request.POST.get("item", ""))
    action = str(request.POST.get("action", "save"))
    if ref not in ("c:new", "s:new", "q:new"):
        found = q.find(data, ref)
        if found is None:
            messages.error(request, _("This item no longer exists in the draft."))
            return redirect(_editor_url(tenant))
        item: dict[str, Any] | None = found[1]
    else:
        item = None
    post = _row_action(request.POST, action, q.editor_languages(tenant))
    form = _item_form(tenant, data, ref, item, post=post)
    if not form.is_valid():
        return _render_item(request, tenant, ref, form, status=400)
    existing = None if ref.endswith(":new") else ref
    try:
        if isinstance(form, CategoryForm):
            new_data = json.loads(json.dumps(data))
            saved = q.save_category(new_data, existing, form.values())
        elif isinstance(form, StepForm):
            new_data = json.loads(json.dumps(data))
            saved = q.save_step(new_data, existing, form.values())
        else:
            new_data, saved = q.save_question(data, existing, form.values())
    except q.EditRefused as refused:
        for problem in refused.problems:
            form.add_error(None, problem)
        return _render_item(request, tenant, ref, form, status=400)
    q.draft_store(draft=draft, definition=new_data, actor=request.user)
    if action != "save":  # an answer row's button, or "more answers": stay on the item
        return redirect(_editor_url(tenant, edit=saved))
    messages.success(request, _("Saved in the draft."))
    return redirect(_editor_url(tenant) + "#" + _anchor(saved))


# --- translations -----------------------------------------------------------------------------


@staff_required
def questionnaire_translate_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    draft = q.draft_open(tenant=tenant, actor=request.user)
    languages = q.editor_languages(tenant)
    missing = q.missing_translations(draft.definition, languages)
    requested = str(request.GET.get("language", ""))
    if requested not in languages:
        requested = next(iter(missing), languages[-1])
    slots = q.text_slots(draft.definition)
    only_missing = request.GET.get("missing") == "1"
    form = TranslationForm(
        request.POST or None,
        slots=slots,
        language=requested,
        main=languages[0],
        only_missing=only_missing,
    )
    if request.method == "POST" and form.is_valid():
        data = json.loads(json.dumps(draft.definition))
        for key, value in form.texts():
            q.set_text(data, key, requested, value)
        q.draft_store(draft=draft, definition=data, actor=request.user)
        messages.success(request, _("Saved in the draft."))
        url = reverse("console:questionnaire_translate", kwargs={"tenant_id": tenant.public_id})
        return redirect(f"{url}?language={requested}" + ("&missing=1" if only_missing else ""))
    return render(
        request,
        "console/questionnaire/translate.html",
        {
            "admin_tenant": tenant,
            "form": form,
            "language": requested,
            "language_name": q.language_name(requested),
            "missing": missing.get(requested, []),
            "only_missing": only_missing,
            "languages": [
                (code, q.language_name(code), len(missing.get(code, []))) for code in languages
            ],
        },
        status=400 if request.method == "POST" else 200,
    )


# --- export and import ------------------------------------------------------------------------


@staff_required
def questionnaire_export_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """The draft (``?which=draft``) or the published version as a JSON download."""
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    if request.GET.get("which") == "draft":
        draft = q.draft_open(tenant=tenant, actor=request.user)
        definition, name = draft.definition, f"questionnaire-{tenant.slug}-draft.json"
    else:
        version = str(request.GET.get("version", ""))
        found = (
            access_questionnaire(tenant=tenant, version=int(version))
            if version.isdigit()
            else questionnaire_current(tenant)
        )
        if found is None:
            raise Http404
        definition = found.definition
        name = f"questionnaire-{tenant.slug}-v{found.version}.json"
    response = HttpResponse(
        json.dumps(definition, ensure_ascii=False, indent=1),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@staff_required
def questionnaire_import_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    draft = q.draft_open(tenant=tenant, actor=request.user)
    form = ImportForm(request.POST, request.FILES)
    errors: list[str] = []
    if form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            errors = [_("The file is too large for a questionnaire (at most 1 MB).")]
        else:
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                errors = [_("The file is not a text file in UTF-8.")]
            else:
                errors = q.draft_import(draft=draft, text=text, actor=request.user)
        if not errors:
            messages.success(
                request,
                _("The file was loaded into the draft. Check it and publish it when ready."),
            )
            return redirect(_editor_url(tenant))
    return _overview(request, tenant, draft, import_form=form, import_errors=errors, status=400)


# --- preview ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _as_reporter_page(tenant: Tenant) -> Iterator[None]:
    """Render with the reporter pages' URLs (the logo, the language switch), as under
    /t/<slug>/."""
    urlconf, prefix = get_urlconf(), get_script_prefix()
    set_urlconf(REPORTER_URLCONF)
    set_script_prefix(f"{prefix}t/{tenant.slug}/")
    try:
        yield
    finally:
        set_urlconf(urlconf)
        set_script_prefix(prefix)


def _preview_offices(tenant: Tenant) -> list[Office]:
    return ready_offices(tenant) or list(Office.objects.serving(tenant).order_by("name"))


@staff_required
def questionnaire_preview_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """The reporter's own pages (same forms, same templates) for the draft or the published
    version, in each enabled language. Answers are checked as for a reporter and then
    forgotten: no draft report, no case."""
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    languages = q.editor_languages(tenant)
    language = str(request.GET.get("language", ""))
    language = language if language in languages else languages[0]
    which = "current" if request.GET.get("which") == "current" else "draft"
    draft = QuestionnaireDraft.objects.filter(tenant=tenant).first()
    data = draft.definition if which == "draft" and draft is not None else None
    if data is None:
        which, data = "current", questionnaire_current(tenant).definition
    base = reverse("console:questionnaire_preview", kwargs={"tenant_id": tenant.public_id})

    def url(step: str, lang: str = language) -> str:
        return f"{base}?which={which}&language={lang}&step={step}"

    try:
        definition = parse(data)
    except (QuestionnaireError, AttributeError, TypeError):
        definition = None
    if definition is None:
        return render(
            request,
            "console/questionnaire/preview_end.html",
            {
                "admin_tenant": tenant,
                "problems": q.structure_problems(data),
                "editor": _editor_url(tenant),
            },
            status=400,
        )
    step_ids = ["start", *(s.id for s in definition.steps), "end"]
    current = str(request.GET.get("step", "start"))
    if current not in step_ids:
        raise Http404
    banner = {
        "which": which,
        "language": language,
        "languages": [(code, q.language_name(code), url(current, code)) for code in languages],
        "editor": _editor_url(tenant),
        "other": f"{base}?which={'current' if which == 'draft' else 'draft'}&language={language}",
        "has_draft": draft is not None,
        "restart": url("start"),
    }
    if current == "end":
        return render(
            request,
            "console/questionnaire/preview_end.html",
            {"admin_tenant": tenant, "banner": banner, "editor": _editor_url(tenant)},
        )
    index = step_ids.index(current)
    with translation.override(language):
        response = _preview_page(request, tenant, definition, current, banner)
        if response is None:
            action = request.POST.get("action", "continue")
            return redirect(url(step_ids[max(index - 1, 0) if action == "back" else index + 1]))
        return response


def _preview_page(
    request: StaffRequest,
    tenant: Tenant,
    definition: Definition,
    current: str,
    banner: dict[str, Any],
) -> HttpResponse | None:
    """The page, or None when the posted page was answered and the preview moves on."""
    post = request.POST if request.method == "POST" else None
    extra = {"tenant": tenant, "switch_languages": [], "preview": banner}
    if current == "start":
        form = StartForm(post, definition=definition, offices=_preview_offices(tenant))
        if post is not None and form.is_valid():
            return None
        context = start_page_context(form=form, definition=definition)
        template = "console/questionnaire/preview_start.html"
    else:
        index = definition.step_index(current)
        assert index is not None  # noqa: S101 (checked by the caller)
        step = definition.steps[index]
        if post is not None and post.get("action") == "back":
            return None
        step_answers = step_form(step, definition, data=post, answers_so_far={})
        if post is not None and step_answers.is_valid():
            return None
        context = step_page_context(
            tenant=tenant,
            definition=definition,
            step=step,
            form=step_answers,
            draft=None,
            file_errors=[],
        )
        template = "console/questionnaire/preview_step.html"
    with _as_reporter_page(tenant):
        return render(
            request, template, {**context, **extra}, status=400 if post is not None else 200
        )
