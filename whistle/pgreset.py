"""The PostgreSQL pool's ``reset`` hook, importable from the settings (no Django imports)."""

from __future__ import annotations

from typing import Any

#: Clears the row-level-security principal (whistle.rls) of a connection returned to the pool.
RESET_SQL = (
    "SELECT set_config('whistle.tenant', '', false), set_config('whistle.user', '', false), "
    "set_config('whistle.system', '', false)"
)


def reset_rls_settings(connection: Any) -> None:
    connection.execute(RESET_SQL)
