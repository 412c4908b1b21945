"""The questionnaire editor (console/questionnaire_views.py): a tenant admin edits a server-side
draft through plain forms, fills in translations, previews the reporter's pages, imports and
exports JSON, and publishes a new version that only new reports use."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from casework.models import AuditEvent
from console.models import QuestionnaireDraft
from intake.models import Case, PendingUpload, Questionnaire
from intake.questionnaire import QUESTION_TYPES, QuestionnaireError, parse
from intake.services import questionnaire_current
from tests.fixtures import World, staff_client
from tests.intake.journey import reporter, submit_report


def editor(world: World, path: str = "") -> str:
    return f"/staff/tenants/{world.tenant.public_id}/questionnaire/{path}"


def draft_of(world: World) -> dict[str, Any]:
    definition: dict[str, Any] = QuestionnaireDraft.objects.get(tenant=world.tenant).definition
    return definition


def question(definition: dict[str, Any], qid: str) -> dict[str, Any]:
    return next(q for s in definition["steps"] for q in s["questions"] if q["id"] == qid)


def question_post(**fields: Any) -> dict[str, Any]:
    """A complete question form: two languages, no answers to choose from unless given."""
    data: dict[str, Any] = {
        "item": "q:new",
        "action": "save",
        "type": "short_text",
        "step": "what",
        "label_de": "Frage",
        "label_en": "Question",
        "help_de": "",
        "help_en": "",
        "max_length": "",
    }
    for i in range(2):
        data.update({f"opt{i}_id": "", f"opt{i}_de": "", f"opt{i}_en": ""})
    data.update(fields)
    return data


@pytest.fixture
def admin(world_a: World) -> Client:
    client = staff_client(world_a.admin)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the staff pages' texts asserted below
    return client


@pytest.mark.django_db
def test_the_editor_works_on_a_draft_of_the_current_version(world_a: World, admin: Client) -> None:
    current = questionnaire_current(world_a.tenant)
    page = admin.get(editor(world_a))
    assert page.status_code == 200
    html = page.content.decode()
    assert "What happened?" in html or "Was ist passiert?" in html
    draft = QuestionnaireDraft.objects.get(tenant=world_a.tenant)
    assert draft.based_on == current.version
    # Categories carry their HinSchG § 2 area.
    assert all(c.get("area") for c in draft.definition["categories"])
    # Nothing changed yet: nothing to publish.
    response = admin.post(editor(world_a), {"action": "publish"})
    assert response.status_code == 400
    assert "same as the published" in response.content.decode()
    assert Questionnaire.objects.filter(tenant=world_a.tenant).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("qtype", QUESTION_TYPES)
def test_each_question_type_round_trips(world_a: World, admin: Client, qtype: str) -> None:
    admin.get(editor(world_a))
    fields: dict[str, Any] = {
        "type": qtype,
        "label_de": f"Neue Frage {qtype}",
        "label_en": f"New question {qtype}",
        "help_de": "Hilfe",
        "help_en": "Help",
        "required": "on",
    }
    if qtype in ("single_choice", "multiple_choice"):
        fields.update({"opt0_de": "Rot", "opt0_en": "Red", "opt1_de": "Grün", "opt1_en": "Green"})
    if qtype in ("short_text", "long_text"):
        fields["max_length"] = "120"
    response = admin.post(editor(world_a), question_post(**fields))
    assert response.status_code == 302, response.content.decode()[:3000]
    definition = draft_of(world_a)
    added = question(definition, f"neue_frage_{qtype}")
    assert added["type"] == qtype
    assert added["label"] == {"de": f"Neue Frage {qtype}", "en": f"New question {qtype}"}
    assert added["help"] == {"de": "Hilfe", "en": "Help"}
    assert added["required"] is True
    if qtype in ("single_choice", "multiple_choice"):
        assert [o["label"]["en"] for o in added["options"]] == ["Red", "Green"]
        assert [o["id"] for o in added["options"]] == ["rot", "grun"]
    else:
        assert "options" not in added
    assert added.get("max_length") == (120 if qtype in ("short_text", "long_text") else None)
    parse(definition)  # a valid questionnaire

    # The edit page shows it back as entered; saving it unchanged changes nothing.
    page = admin.get(editor(world_a) + f"?edit=q:{added['id']}")
    html = page.content.decode()
    assert f'value="New question {qtype}"' in html
    assert re.search(rf'value="{qtype}"[^>]*checked', html)
    resave = question_post(item=f"q:{added['id']}", **fields)
    if qtype in ("single_choice", "multiple_choice"):
        resave.update({"opt0_id": "rot", "opt1_id": "grun"})
        resave.update({f"opt{i}_{k}": "" for i in (2, 3) for k in ("id", "de", "en")})
    assert admin.post(editor(world_a), resave).status_code == 302
    assert draft_of(world_a) == definition

    # Export and import give the same document back.
    exported = admin.get(editor(world_a, "export/") + "?which=draft")
    assert exported["Content-Disposition"].startswith("attachment")
    assert json.loads(exported.content) == definition
    upload = SimpleUploadedFile("q.json", exported.content, "application/json")
    assert admin.post(editor(world_a, "import/"), {"file": upload}).status_code == 302
    assert draft_of(world_a) == definition

    # The preview shows the question the way the reporter's page does.
    preview = admin.get(editor(world_a, "preview/") + "?language=en&step=what")
    assert preview.status_code == 200
    assert f"New question {qtype}" in preview.content.decode()


@pytest.mark.django_db
def test_a_condition_shows_a_question_depending_on_an_earlier_answer(
    world_a: World, admin: Client
) -> None:
    admin.get(editor(world_a))
    page = admin.get(editor(world_a) + "?add=question&step=more")
    assert "how_known:other" in page.content.decode()  # an earlier choice's answers
    response = admin.post(
        editor(world_a),
        question_post(
            step="more",
            label_de="Wer hat es erzählt?",
            label_en="Who told you?",
            show_if=["how_known:told"],
            required="on",
        ),
    )
    assert response.status_code == 302
    added = question(draft_of(world_a), "wer_hat_es_erzahlt")
    assert added["show_if"] == {"question": "how_known", "in": ["told"]}
    definition = parse(draft_of(world_a))
    condition = definition.questions_by_id["wer_hat_es_erzahlt"].show_if
    assert condition is not None
    assert condition.holds({"how_known": "told"}) and not condition.holds({"how_known": "myself"})
    overview = admin.get(editor(world_a)).content.decode()
    assert "Shown only if “How do you know about it?” is answered with: Someone told me" in overview

    # A tick box works as a condition too.
    response = admin.post(
        editor(world_a),
        question_post(
            step="more", label_de="Warum?", label_en="Why?", show_if=["truthful:__ticked"]
        ),
    )
    assert response.status_code == 302
    assert question(draft_of(world_a), "warum")["show_if"] == {"question": "truthful", "in": [True]}

    # Answers of two questions at once: refused, nothing lost.
    response = admin.post(
        editor(world_a),
        question_post(label_de="X", label_en="X", show_if=["how_known:told", "truthful:__ticked"]),
    )
    assert response.status_code == 400
    assert "one question only" in response.content.decode()

    before = draft_of(world_a)
    # Moving the dependent question before the one it depends on is refused.
    response = admin.post(editor(world_a), {"action": "up:q:wer_hat_es_erzahlt"})
    for _ in range(12):
        admin.post(editor(world_a), {"action": "up:q:wer_hat_es_erzahlt"})
    assert parse(draft_of(world_a))  # still valid: it stopped below "how_known"
    order = [q["id"] for s in draft_of(world_a)["steps"] for q in s["questions"]]
    assert order.index("wer_hat_es_erzahlt") == order.index("how_known") + 1
    follow = admin.get(editor(world_a)).content.decode()
    assert "must come before it" in follow

    # Removing the answer it depends on is refused with the reason; the draft is unchanged.
    how_known = question(draft_of(world_a), "how_known")
    edit: dict[str, Any] = {
        "item": "q:how_known",
        "action": "option_remove:1",
        "type": "single_choice",
        "step": "who",
        "label_de": how_known["label"]["de"],
        "label_en": how_known["label"]["en"],
        "required": "on",
    }
    for i, option in enumerate(how_known["options"]):
        edit.update(
            {
                f"opt{i}_id": option["id"],
                f"opt{i}_de": option["label"]["de"],
                f"opt{i}_en": option["label"]["en"],
            }
        )
    snapshot = draft_of(world_a)
    response = admin.post(editor(world_a), edit)
    assert response.status_code == 400
    assert "no longer exists" in response.content.decode()
    assert draft_of(world_a) == snapshot
    # Removing the question itself is refused as well.
    admin.post(editor(world_a), {"action": "remove_confirmed:q:how_known"})
    assert draft_of(world_a) == snapshot
    del before


@pytest.mark.django_db
def test_missing_translations_are_listed_and_block_publishing(
    world_a: World, admin: Client
) -> None:
    admin.get(editor(world_a))
    response = admin.post(
        editor(world_a),
        question_post(label_de="Nur deutsch", label_en="", help_de="Hilfe nur deutsch"),
    )
    assert response.status_code == 302
    overview = admin.get(editor(world_a)).content.decode()
    assert "English: 2 texts missing" in overview
    assert "Question “Nur deutsch”" in overview
    assert "Question “Nur deutsch”: help text" in overview

    refused = admin.post(editor(world_a), {"action": "publish"})
    assert refused.status_code == 400
    assert "2 texts are missing in English" in refused.content.decode()
    assert Questionnaire.objects.filter(tenant=world_a.tenant).count() == 1

    # The English form lists what is missing and fills it in.
    assert "translate/?language=en&amp;missing=1" in overview
    page = admin.get(editor(world_a, "translate/") + "?language=en")
    html = page.content.decode()
    assert "Missing in English" in html
    assert len(page.context["form"].fields) > 50  # every text, for checking them all
    page = admin.get(editor(world_a, "translate/") + "?language=en&missing=1")
    form = page.context["form"]
    assert len(form.fields) == 2  # only what is missing
    data = {name: (field.initial or "") for name, field in form.fields.items()}
    names = {field.label: name for name, field in form.fields.items()}
    data[names["Question “Nur deutsch”"]] = "English only now"
    data[names["Question “Nur deutsch”: help text"]] = "Help in English"
    saved = admin.post(editor(world_a, "translate/") + "?language=en&missing=1", data)
    assert saved.status_code == 302
    added = question(draft_of(world_a), "nur_deutsch")
    assert added["label"] == {"de": "Nur deutsch", "en": "English only now"}
    assert added["help"] == {"de": "Hilfe nur deutsch", "en": "Help in English"}

    published = admin.post(editor(world_a), {"action": "publish"})
    assert published.status_code == 302
    assert questionnaire_current(world_a.tenant).version == 2
    event = AuditEvent.objects.get(tenant=world_a.tenant, verb="questionnaire.published")
    assert event.object_id == "2" and event.actor == world_a.admin
    assert not QuestionnaireDraft.objects.filter(tenant=world_a.tenant).exists()


@pytest.mark.django_db
def test_the_main_language_cannot_be_emptied(world_a: World, admin: Client) -> None:
    admin.get(editor(world_a))
    page = admin.get(editor(world_a, "translate/") + "?language=de")
    form = page.context["form"]
    data = {name: (field.initial or "") for name, field in form.fields.items()}
    first = next(iter(data))
    data[first] = ""
    response = admin.post(editor(world_a, "translate/") + "?language=de", data)
    assert response.status_code == 400
    assert draft_of(world_a) == questionnaire_current(world_a.tenant).definition


@pytest.mark.django_db
def test_publishing_makes_a_new_version_used_by_new_reports_only(world_a: World) -> None:
    from tests.keys.test_key_hierarchy import setup_keys

    setup_keys(world_a)
    submit_report(reporter(), world_a)
    old_case = Case.objects.get(tenant=world_a.tenant)
    assert old_case.questionnaire is not None and old_case.questionnaire.version == 1

    admin = staff_client(world_a.admin)
    admin.get(editor(world_a))
    step = draft_of(world_a)["steps"][0]
    response = admin.post(
        editor(world_a),
        {
            "item": "s:what",
            "action": "save",
            "title_de": "Der Vorfall",
            "title_en": "The incident",
            "intro_de": step["intro"]["de"],
            "intro_en": step["intro"]["en"],
        },
    )
    assert response.status_code == 302
    assert admin.post(editor(world_a), {"action": "publish"}).status_code == 302

    page = reporter().get(f"/t/{world_a.tenant.slug}/report/")
    assert page.status_code == 200
    submit_report(reporter(), world_a)
    new_case = Case.objects.filter(tenant=world_a.tenant).exclude(pk=old_case.pk).get()
    assert new_case.questionnaire is not None and new_case.questionnaire.version == 2
    old_case.refresh_from_db()
    assert old_case.questionnaire is not None and old_case.questionnaire.version == 1
    assert parse(new_case.questionnaire.definition).steps[0].title["en"] == "The incident"


@pytest.mark.django_db
def test_import_errors_keep_the_draft(world_a: World, admin: Client) -> None:
    admin.get(editor(world_a))
    admin.post(editor(world_a), question_post(label_de="Behalten", label_en="Keep me"))
    kept = draft_of(world_a)

    for content, reason in [
        (b"{not json", "not valid JSON (line 1"),
        (b'{"categories": [], "steps": []}', "not a valid questionnaire"),
        (
            json.dumps(
                {**kept, "categories": [{**kept["categories"][0], "area": "moon"}]}
            ).encode(),
            "categories[0].area",
        ),
        (b"\xff\xfe\x00", "not a text file"),
    ]:
        upload = SimpleUploadedFile("q.json", content, "application/json")
        response = admin.post(editor(world_a, "import/"), {"file": upload})
        assert response.status_code == 400
        html = response.content.decode()
        assert "the draft is unchanged" in html
        assert reason in html, reason
        assert "Keep me" in html or "Behalten" in html  # the editor with the draft shown
        assert draft_of(world_a) == kept

    response = admin.post(editor(world_a, "import/"), {})
    assert response.status_code == 400
    assert draft_of(world_a) == kept
    assert admin.get(editor(world_a, "import/")).status_code == 405


@pytest.mark.django_db
def test_the_preview_is_the_reporters_page_and_stores_nothing(
    world_a: World, admin: Client
) -> None:
    admin.get(editor(world_a))
    session_before = {k for k, _v in admin.session.items()}
    for language, topic, step_title in [
        ("de", "Umweltschutz", "Was ist passiert?"),
        ("en", "Environmental protection", "What happened?"),
    ]:
        start = admin.get(editor(world_a, "preview/") + f"?language={language}")
        assert start.status_code == 200
        assert topic in start.content.decode()
        assert "intake/report_start.html" in [t.name for t in start.templates]
        step = admin.get(editor(world_a, "preview/") + f"?language={language}&step=what")
        assert step_title in step.content.decode()
        assert "intake/report_step.html" in [t.name for t in step.templates]
    url = editor(world_a, "preview/") + "?which=draft&language=en&step=what"
    # A required answer missing: the reporter's error message; nothing stored.
    response = admin.post(url, {"action": "continue", "what": ""})
    assert response.status_code == 400
    assert "Please check your entry" in response.content.decode()
    response = admin.post(url, {"action": "continue", "what": "SENTINEL-preview-1"})
    assert response.status_code == 302
    assert "step=who" in response["Location"]
    response = admin.post(
        editor(world_a, "preview/") + "?which=draft&language=en", {"category": "environment"}
    )
    assert response.status_code == 302 and "step=what" in response["Location"]
    last = admin.post(
        editor(world_a, "preview/") + "?which=draft&language=en&step=more",
        {"ongoing": "no", "reported_elsewhere": "no", "truthful": "on"},
    )
    assert last.status_code == 302 and "step=end" in last["Location"]
    assert admin.get(last["Location"]).status_code == 200
    assert not Case.objects.exists()
    assert {
        k for k, _v in admin.session.items()
    } == session_before  # no draft report in the session vault
    assert not PendingUpload.objects.exists()
    assert admin.get(editor(world_a, "preview/") + "?step=nope").status_code == 404


@pytest.mark.django_db
def test_topics_need_an_area_of_hinschg_section_2(world_a: World, admin: Client) -> None:
    admin.get(editor(world_a))
    base = {"item": "c:new", "action": "save", "label_de": "Mobbing", "label_en": "Bullying"}
    response = admin.post(editor(world_a), base)
    assert response.status_code == 400
    assert "Area of HinSchG § 2" in response.content.decode()
    assert admin.post(editor(world_a), {**base, "area": "outside"}).status_code == 302
    category = draft_of(world_a)["categories"][-1]
    assert category == {
        "id": "mobbing",
        "label": {"de": "Mobbing", "en": "Bullying"},
        "area": "outside",
    }
    assert parse(draft_of(world_a)).category("mobbing").area == "outside"  # type: ignore[union-attr]
    # An old version without areas still parses; an unknown area does not.
    old = questionnaire_current(world_a.tenant).definition
    for c in old["categories"]:
        c.pop("area", None)
    assert parse(old).categories[0].area is None
    old["categories"][0]["area"] = "moon"
    with pytest.raises(QuestionnaireError):
        parse(old)


@pytest.mark.django_db
def test_steps_and_topics_are_added_moved_and_removed_with_buttons(
    world_a: World, admin: Client
) -> None:
    admin.get(editor(world_a))
    response = admin.post(
        editor(world_a),
        {"item": "s:new", "action": "save", "title_de": "Zum Schluss", "title_en": "Finally"},
    )
    assert response.status_code == 302
    overview = admin.get(editor(world_a)).content.decode()
    assert "Step “Finally” has no questions" in overview or "Step “Zum Schluss” has no" in overview
    assert admin.post(editor(world_a), {"action": "up:s:zum_schluss"}).status_code == 302
    assert [s["id"] for s in draft_of(world_a)["steps"]] == ["what", "who", "zum_schluss", "more"]
    confirm = admin.post(editor(world_a), {"action": "remove:s:who"})
    assert "and its 4 questions" in confirm.content.decode()
    assert len(draft_of(world_a)["steps"]) == 4  # only asked
    # "who" holds how_known, which "more" does not depend on: removal goes through.
    admin.post(editor(world_a), {"action": "remove_confirmed:s:zum_schluss"})
    assert [s["id"] for s in draft_of(world_a)["steps"]] == ["what", "who", "more"]
    admin.post(editor(world_a), {"action": "down:c:criminal_offence"})
    assert [c["id"] for c in draft_of(world_a)["categories"]][:2] == [
        "administrative_offence",
        "criminal_offence",
    ]
    # Discarding starts again from the published version.
    admin.post(editor(world_a), {"action": "discard_confirmed"})
    admin.get(editor(world_a))
    assert draft_of(world_a) == questionnaire_current(world_a.tenant).definition


@pytest.mark.django_db
def test_only_the_tenant_admin_reaches_the_editor(world_a: World) -> None:
    handler = staff_client(world_a.handler)
    for path in ("", "translate/", "preview/", "export/", "import/"):
        assert handler.get(editor(world_a, path)).status_code == 404
        assert handler.post(editor(world_a, path), {"action": "publish"}).status_code == 404
    anonymous = Client()
    assert anonymous.get(editor(world_a)).status_code == 302
    assert not QuestionnaireDraft.objects.exists()


@pytest.mark.django_db
def test_a_condition_the_form_cannot_show_is_kept_from_an_import(
    world_a: World, admin: Client
) -> None:
    """The schema allows a condition on a text answer; the editor shows it in words, keeps it
    when the question is saved, and does not refuse publishing because of it."""
    admin.get(editor(world_a))
    data = questionnaire_current(world_a.tenant).definition
    where = question(data, "where")
    where["show_if"] = {"question": "when_period", "equals": "Mai"}
    upload = SimpleUploadedFile("q.json", json.dumps(data).encode(), "application/json")
    assert admin.post(editor(world_a, "import/"), {"file": upload}).status_code == 302
    page = admin.get(editor(world_a) + "?edit=q:where").content.decode()
    assert "Keep the present condition" in page
    post = question_post(
        item="q:where",
        label_de=where["label"]["de"],
        label_en=where["label"]["en"],
        help_de=where["help"]["de"],
        help_en=where["help"]["en"],
        max_length="500",
        keep_condition="on",
    )
    assert admin.post(editor(world_a), post).status_code == 302
    assert question(draft_of(world_a), "where")["show_if"] == where["show_if"]
    assert admin.post(editor(world_a), {"action": "publish"}).status_code == 302
    assert questionnaire_current(world_a.tenant).version == 2
    # Unticked: the condition goes.
    admin.get(editor(world_a))
    del post["keep_condition"]
    assert admin.post(editor(world_a), post).status_code == 302
    assert "show_if" not in question(draft_of(world_a), "where")
    versions = admin.get(editor(world_a)).content.decode()
    assert "?version=1" in versions
    old = admin.get(editor(world_a, "export/") + "?version=1")
    assert "show_if" not in json.dumps(question(json.loads(old.content), "where"))
    assert admin.get(editor(world_a, "export/") + "?version=9").status_code == 404


def test_an_outage_shows_the_typed_question_texts_back(rf: Any) -> None:
    import redis

    from whistle.outage import server_error_view

    request = rf.post(
        "/staff/tenants/t/questionnaire/",
        {"item": "q:new", "label_de": "Getippte Frage 7731", "label_en": "Typed 7731"},
        HTTP_ACCEPT_LANGUAGE="de",
    )
    try:
        raise redis.exceptions.TimeoutError("no answer")
    except redis.exceptions.TimeoutError:
        response = server_error_view(request)
    assert response.status_code == 503
    page = response.content.decode()
    assert "Getippte Frage 7731" in page and "Typed 7731" in page
    assert "q:new" not in page  # hidden fields are never shown back
