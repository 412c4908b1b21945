# Sourced by backup.sh and restore.sh: sets libpq's variables (PGHOST, PGPORT, PGUSER,
# PGPASSWORD, PGDATABASE, PGSSLMODE…) from DATABASE_URL or DATABASE_URL_FILE, as the service
# reads them (whistle/env.py), so the password never appears on a command line.

whistle_python() {
  if [ -n "${PYTHON:-}" ]; then
    printf '%s\n' "$PYTHON"
  elif [ -x "$root/.venv/bin/python" ]; then
    printf '%s\n' "$root/.venv/bin/python"
  else
    command -v python3
  fi
}

pg_env_from_database_url() {
  local python assignments
  python=$(whistle_python) || { printf '%s: error: no Python found (set PYTHON)\n' "$me" >&2; return 1; }
  assignments=$("$python" - <<'PY'
import os
import shlex
import sys
from urllib.parse import parse_qs, unquote, urlsplit

value, file_name = os.environ.get("DATABASE_URL"), os.environ.get("DATABASE_URL_FILE")
if value is not None and file_name is not None:
    sys.exit("Set either DATABASE_URL or DATABASE_URL_FILE, not both.")
if file_name is not None:
    try:
        with open(file_name, encoding="utf-8") as handle:
            value = handle.read().strip()
    except OSError as exc:
        sys.exit(f"DATABASE_URL_FILE names a file that cannot be read ({exc.strerror}).")
if not value:
    sys.exit("DATABASE_URL (or DATABASE_URL_FILE) must be set.")
url = urlsplit(value)
if url.scheme not in ("postgres", "postgresql", "pgsql"):
    sys.exit("DATABASE_URL must be a postgres:// URL: only PostgreSQL is backed up this way.")
name = unquote(url.path.lstrip("/"))
if not name:
    sys.exit("DATABASE_URL names no database.")
env = {"PGDATABASE": name, "PGHOST": unquote(url.hostname or "")}
try:
    port = url.port
except ValueError:
    sys.exit("DATABASE_URL has an invalid port.")
if port:
    env["PGPORT"] = str(port)
if url.username:
    env["PGUSER"] = unquote(url.username)
if url.password:
    env["PGPASSWORD"] = unquote(url.password)
libpq = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "options": "PGOPTIONS",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}
for key, values in parse_qs(url.query).items():
    if key in libpq and values:
        env[libpq[key]] = values[-1]
for key, item in env.items():
    if item:
        print(f"export {key}={shlex.quote(item)}")
PY
  ) || { printf '%s: error: cannot use the database settings (above)\n' "$me" >&2; return 1; }
  eval "$assignments"
  export PGAPPNAME=${PGAPPNAME:-whistle-$me}
}
