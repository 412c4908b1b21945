"""Fail any test whose logs or output contain a string it registered as sensitive (DESIGN §7).

Usage: a test (or fixture) takes the ``sensitive`` fixture and registers what must never be
seen: ``sensitive.add(report_text)``, ``sensitive.add(receipt.formatted)``. After each phase of
the test, everything pytest captured — log records of every level, stdout and stderr — is
searched. A hit turns the phase into a failure naming the section, never the string itself.

Log capture runs at DEBUG (``log_level`` in pyproject) so nothing hides below the level a
production deployment would use.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable

import pytest

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


@pytest.fixture
def sensitive(request: pytest.FixtureRequest) -> SensitiveRegistry:
    registry = SensitiveRegistry()
    request.node.stash[_KEY] = registry
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
