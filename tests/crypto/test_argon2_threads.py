"""Argon2id runs in the process's own low-priority threads (crypto.kdf.run_in_slot), so that a
flood of receipt checks takes only the CPU nothing else of the process wants."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from crypto import kdf


def _priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_argon2_work_runs_in_threads_of_lower_priority() -> None:
    caller = _priority()
    name, priority = kdf.run_in_slot(lambda: (threading.current_thread().name, _priority()))
    assert name.startswith("argon2")
    assert priority == min(caller + kdf.PRIORITY_DROP, 19)
    assert _priority() == caller  # the caller's own priority is untouched


@pytest.mark.parametrize("version", [kdf.KDF_V1, kdf.KDF_V2])
def test_derive_key_runs_in_the_argon2_threads(
    version: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran_in: list[str] = []
    real = kdf.run_in_slot

    def watched(function, /, *args):
        def run():
            ran_in.append(threading.current_thread().name)
            return function(*args)

        return real(run)

    monkeypatch.setattr(kdf, "run_in_slot", watched)
    key = kdf.derive_key(b"secret", salt=bytes(16), params=kdf.TEST_PARAMS, version=version)
    assert len(key) == 32
    assert ran_in and ran_in[0].startswith("argon2")


def test_the_argon2_threads_work_in_a_forked_child() -> None:
    """Celery's prefork pool forks after imports: the child must get threads of its own (a
    pool object inherited without its threads would wait for ever)."""
    assert kdf.run_in_slot(lambda: 1) == 1  # the parent's pool has an idle thread now
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            signal.alarm(30)  # a hang ends the child with SIGALRM, failing the test
            code = 0 if kdf.run_in_slot(lambda: 42) == 42 else 1
        finally:
            os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
