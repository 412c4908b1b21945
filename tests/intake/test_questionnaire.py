"""Questionnaires as validated, versioned data; conditions evaluated on the server."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from intake.models import Questionnaire
from intake.questionnaire import QuestionnaireError, StepForm, default_definition_json, parse
from intake.services import questionnaire_current, questionnaire_import
from tests.fixtures import World


def test_default_questionnaire_is_valid_and_complete_in_german_and_english() -> None:
    data = default_definition_json()
    definition = parse(data)
    assert {c.id for c in definition.categories} >= {"criminal_offence", "environment", "other"}
    ids = set(definition.questions_by_id)
    for needed in (
        "what",
        "when_date",
        "where",
        "who",
        "how_known",
        "evidence",
        "ongoing",
        "reported_elsewhere",
    ):
        assert needed in ids
    types = {q.type for q in definition.questions_by_id.values()}
    assert types == {
        "short_text",
        "long_text",
        "single_choice",
        "multiple_choice",
        "checkbox",
        "date",
        "file",
    }

    def texts(node: object) -> list[dict[str, str]]:
        found = []
        if isinstance(node, dict):
            if set(node) <= {"de", "en"} and node:
                found.append(node)
            else:
                for value in node.values():
                    found += texts(value)
        elif isinstance(node, list):
            for value in node:
                found += texts(value)
        return found

    for text in texts(data):
        assert set(text) == {"de", "en"}, text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(categories=[]), "categories"),
        (lambda d: d["steps"][0]["questions"][0].update(type="essay"), "type"),
        (lambda d: d["steps"][0]["questions"][1].update(id="what"), "used twice"),
        (lambda d: d["steps"][1]["questions"][2]["show_if"].update(question="nope"), "earlier"),
        (lambda d: d["steps"][0]["questions"][0].update(max_length=10**9), "max_length"),
        (lambda d: d["steps"][2]["questions"][0].update(options=[]), "two options"),
    ],
)
def test_invalid_definitions_are_refused_with_the_reason(change, message: str) -> None:
    data = copy.deepcopy(default_definition_json())
    change(data)
    with pytest.raises(QuestionnaireError, match=message):
        parse(data)


def test_conditions_are_evaluated_on_the_server() -> None:
    definition = parse(default_definition_json())
    answers = {"how_known": "told", "how_known_other": "smuggled in", "what": "x"}
    assert "how_known_other" not in definition.visible_answers(answers)
    answers["how_known"] = "other"
    assert definition.visible_answers(answers)["how_known_other"] == "smuggled in"
    step = definition.steps[1]
    # A condition that holds makes its question required.
    form = StepForm(step, definition, data={"how_known": "other"})
    assert not form.is_valid()
    assert "how_known_other" in form.errors
    form = StepForm(step, definition, data={"how_known": "told", "how_known_other": "ignored"})
    assert form.is_valid(), form.errors
    assert "how_known_other" not in form.cleaned_data


@pytest.mark.django_db
def test_versions_and_import_export(world_a: World, tmp_path: Path) -> None:
    first = questionnaire_current(world_a.tenant)
    assert first.version == 1
    out = io.StringIO()
    call_command("questionnaire_export", "alpha", stdout=out)
    exported = json.loads(out.getvalue())
    assert exported == first.definition
    exported["steps"][0]["questions"][0]["label"] = {"de": "Was genau?", "en": "What exactly?"}
    path = tmp_path / "q.json"
    path.write_text(json.dumps(exported), encoding="utf-8")
    call_command("questionnaire_import", "alpha", str(path), stdout=io.StringIO())
    assert questionnaire_current(world_a.tenant).version == 2
    assert (
        Questionnaire.objects.get(tenant=world_a.tenant, version=1).definition == first.definition
    )
    path.write_text('{"categories": []}', encoding="utf-8")
    with pytest.raises(CommandError, match="categories"):
        call_command("questionnaire_import", "alpha", str(path), stdout=io.StringIO())
    with pytest.raises(QuestionnaireError):
        questionnaire_import(tenant=world_a.tenant, definition={"steps": []})
