"""Fail any test whose logs or output contain sensitive text (DESIGN §7). Every test, whether
it asks for the fixture or not.

What is sensitive is registered automatically for every test: whatever the application
encrypts as a record (``crypto.encrypt_record``: report answers, contact details, messages,
notes, file names — the whole text, and each free-text value of a JSON record) and every
receipt it draws or reads (``crypto.generate_receipt``, ``crypto.parse_receipt``). A test can
add more through the ``sensitive`` fixture: ``sensitive.add(report_text)``. After each phase of
the test, everything pytest captured — log records of every level, stdout and stderr — is
searched. A hit turns the phase into a failure naming the section, never the string itself.

Log capture runs at DEBUG (``log_level`` in pyproject) so nothing hides below the level a
production deployment would use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterable
from typing import Any

import pytest

import crypto

_KEY = pytest.StashKey["SensitiveRegistry"]()


class SensitiveRegistry:
    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, *values: str | bytes) -> None:
        for value in values:
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            if len(text) < 6:
                raise ValueError("register at least 6 characters: short strings match by chance")
            self._values.add(text)

    def find_in(self, sections: Iterable[tuple[str, str]]) -> list[str]:
        return [name for name, content in sections if any(v in content for v in self._values)]

    def add_plaintext(self, plaintext: bytes) -> None:
        """A record's plaintext: the whole text, and each free-text value (one with a space) of
        a JSON record. Option ids and other single words are left out: they are not content
        and short ones would match by chance."""
        try:
            text = plaintext.decode("utf-8")
        except UnicodeDecodeError:
            return  # binary: nothing a log line would show as text
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict | list):
            for value in _strings(data):
                if len(value.strip()) >= 6 and any(c.isspace() for c in value.strip()):
                    self._values.add(value.strip())
            return
        if len(text.strip()) >= 6:
            self._values.add(text.strip())


def _strings(data: Any) -> Iterable[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def _watching(registry: SensitiveRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    """Register what the application encrypts and every receipt, as it happens."""
    encrypt_record: Callable[..., bytes] = crypto.encrypt_record
    generate_receipt: Callable[[], crypto.Receipt] = crypto.generate_receipt
    parse_receipt: Callable[[str], crypto.Receipt] = crypto.parse_receipt

    def encrypting(key: bytes, plaintext: bytes, **kwargs: Any) -> bytes:
        registry.add_plaintext(plaintext)
        return encrypt_record(key, plaintext, **kwargs)

    def drawing() -> crypto.Receipt:
        receipt = generate_receipt()
        registry.add(receipt.formatted)
        return receipt

    def reading(text: str) -> crypto.Receipt:
        receipt = parse_receipt(text)
        registry.add(receipt.formatted)
        return receipt

    monkeypatch.setattr(crypto, "encrypt_record", encrypting)
    monkeypatch.setattr(crypto, "generate_receipt", drawing)
    monkeypatch.setattr(crypto, "parse_receipt", reading)


@pytest.fixture(autouse=True)
def sensitive(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> SensitiveRegistry:
    """Every test's registry (autouse): filled automatically, open for more."""
    registry = SensitiveRegistry()
    request.node.stash[_KEY] = registry
    _watching(registry, monkeypatch)
    return registry


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report = outcome.get_result()
    registry = item.stash.get(_KEY, None)
    if registry is None:
        return
    # Sections accumulate over setup/call/teardown; look only at this phase's own.
    current = [(name, text) for name, text in report.sections if name.endswith(f" {call.when}")]
    hits = registry.find_in(current)
    if hits and report.outcome != "failed":
        report.outcome = "failed"
        report.longrepr = (
            "Sensitive text registered by this test appeared in: "
            + ", ".join(sorted(set(hits)))
            + " (DESIGN §7: no content, receipt or key may reach logs or output)."
        )
