"""Database connection hygiene for requests that wait on something else.

A request that waits for a scarce resource (an Argon2 slot, another service) must not hold one
of the process's pooled PostgreSQL connections meanwhile: a flood of such requests would drain
the pool and fail every other request of the process (DESIGN §3).
"""

from __future__ import annotations

from django.db import connections


def db_release() -> None:
    """Give this thread's database connections back before a long wait.

    With the PostgreSQL pool, closing returns the connection to the pool; the next query takes
    one again. Inside a transaction (``atomic``, and every test that wraps its work in one) the
    connection is kept: closing it there would abort the transaction.
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
