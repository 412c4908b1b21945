"""The sensitive-output fixture really fails a test that leaks (DESIGN §7)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.plugins.sensitive import SensitiveRegistry

INNER = """
import logging
import sys

def test_logs_it(sensitive):
    sensitive.add("SENTINEL-report-text-4711")
    logging.getLogger("whistle.somewhere").debug("oops %s", "SENTINEL-report-text-4711")

def test_prints_it(sensitive):
    sensitive.add("SENTINEL-receipt-0815")
    print("receipt:", "SENTINEL-receipt-0815")

def test_stderr_it(sensitive):
    sensitive.add("SENTINEL-key-material")
    sys.stderr.write("SENTINEL-key-material")

def test_encrypted_text_is_watched_without_asking():
    import crypto
    from crypto.records import RecordContext

    context = RecordContext(tenant="t", case="c", kind="note", record_id="n")
    crypto.encrypt_record(bytes(32), b"SENTINEL note never to be logged", context=context)
    logging.getLogger("whistle.somewhere").warning("SENTINEL note never to be logged")

def test_a_drawn_receipt_is_watched_without_asking():
    import crypto

    print(crypto.generate_receipt().formatted)

def test_clean(sensitive):
    sensitive.add("SENTINEL-never-shown")
    logging.getLogger("whistle").info("nothing to see")
    print("fine")
"""


def test_leaks_fail_and_clean_tests_pass(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_inner=INNER)
    # The inner process runs in a temporary directory: it finds the plugin (and the project's
    # packages) through PYTHONPATH, however the suite itself was started.
    root = str(Path(__file__).resolve().parents[1])
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    )
    # In a process of its own: what the inner tests draw and encrypt is registered there, not
    # in this test's own (automatic) registry, which would see it in the inner output.
    result = pytester.runpytest_subprocess(
        "-p",
        "tests.plugins.sensitive",
        "-p",
        "no:django",
        "-p",
        "no:asyncio",
        "-o",
        "log_level=DEBUG",
    )
    result.assert_outcomes(passed=1, failed=5)
    output = result.stdout.str()
    assert "Sensitive text registered by this test appeared in" in output
    assert "Captured log call" in output
    assert "Captured stdout call" in output
    assert "Captured stderr call" in output


def test_short_strings_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 6"):
        SensitiveRegistry().add("abc")
