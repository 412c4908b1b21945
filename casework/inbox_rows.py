"""What an inbox row shows beyond the case's own columns: its topic in words and its label.

Both are worked out for the rows of one page only (``PAGE_SIZE``), whatever the size of the
inbox: the questionnaires that the page's cases were filed with are read once each, and only
the labels of the page's cases are decrypted (one office private key per key version, one
``unseal`` of the case key and one record decryption per labelled case).
"""

from __future__ import annotations

from collections.abc import Sequence

import crypto
from casework.services import case_label
from intake.models import Case, Questionnaire
from intake.questionnaire import QuestionnaireError, localised, parse
from intake.services import case_key_info
from whistle.accounts.models import User
from whistle.keys.models import OfficeKeyPair
from whistle.keys.services import KeyAccessError, office_private_key


def topics(cases: Sequence[Case]) -> dict[int, str]:
    """``{case pk: topic}``: the label of the case's category in its questionnaire, in the
    active language (the category's id when the questionnaire does not know it)."""
    ids = {c.questionnaire_id for c in cases if c.questionnaire_id is not None and c.category}
    definitions = {}
    for questionnaire in Questionnaire.objects.filter(pk__in=ids):
        try:
            definitions[questionnaire.pk] = parse(questionnaire.definition)
        except QuestionnaireError:  # stored versions are validated; stay readable regardless
            continue
    result = {}
    for case in cases:
        if not case.category:
            continue
        definition = definitions.get(case.questionnaire_id or 0)
        category = definition.category(case.category) if definition else None
        result[case.pk] = localised(category.label) if category else case.category
    return result


def labels(*, cases: Sequence[Case], user: User, handler_private: bytes | None) -> dict[int, str]:
    """``{case pk: label}`` for the labelled cases among these whose key ``user`` can reach
    (the vault's handler key in hand); the others are left out."""
    labelled = [
        c
        for c in cases
        if c.label_ciphertext is not None
        and c.key_for_office is not None
        and c.office_keypair_id is not None
    ]
    if not labelled or handler_private is None:
        return {}
    versions = dict(
        OfficeKeyPair.objects.filter(pk__in={c.office_keypair_id for c in labelled}).values_list(
            "pk", "version"
        )
    )
    privates: dict[tuple[int, int], bytes | None] = {}
    result = {}
    for case in labelled:
        slot = (case.office_id, case.office_keypair_id or 0)
        if slot not in privates:
            try:
                privates[slot] = office_private_key(
                    office=case.office,
                    user=user,
                    handler_private=handler_private,
                    version=versions.get(case.office_keypair_id or 0),
                )
            except KeyAccessError:
                privates[slot] = None
        private = privates[slot]
        if private is None:
            continue
        try:
            sealed = bytes(case.key_for_office or b"")
            key = crypto.unseal(private, sealed, info=case_key_info(case))
            result[case.pk] = case_label(case=case, case_key=key)
        except crypto.DecryptionError:
            continue
    return result


def decorate(*, cases: Sequence[Case], user: User, handler_private: bytes | None) -> list[Case]:
    """The page's cases with ``topic`` and ``label_text`` set for the row template."""
    rows = list(cases)
    topic = topics(rows)
    label = labels(cases=rows, user=user, handler_private=handler_private)
    for case in rows:
        case.topic = topic.get(case.pk, "")  # type: ignore[attr-defined]
        case.label_text = label.get(case.pk, "")  # type: ignore[attr-defined]
    return rows
