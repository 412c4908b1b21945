"""Database connection hygiene for requests that wait on something else.

A request that waits for a scarce resource (an Argon2 slot, another service) must not hold one
of the process's pooled PostgreSQL connections meanwhile: a flood of such requests would drain
the pool and fail every other request of the process (DESIGN §3).
"""

from __future__ import annotations

from django.db import connections
from django.http import HttpRequest


def db_release(request: HttpRequest | None = None) -> None:
    """Give this thread's database connections back before a long wait.

    With the PostgreSQL pool, closing returns the connection to the pool; the next query takes
    one again. Inside a transaction (``atomic``, and every test that wraps its work in one) the
    connection is kept: closing it there would abort the transaction.

    With ``request``, its session (a database row) and the account it names are loaded first:
    the page rendered after the wait reads them (messages, the vault, the user), and would
    otherwise take a connection again just for that and hold it while rendering — after a
    flood's waits end together, that alone drained the pool (bench/receipts.py).
    """
    if request is not None:
        session = getattr(request, "session", None)
        if session is not None:
            session.keys()
        user = getattr(request, "user", None)
        if user is not None:
            _ = user.is_authenticated
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
