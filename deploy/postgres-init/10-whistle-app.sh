#!/bin/sh
# Run once by the postgres image when it initialises an empty data directory (compose mounts this
# directory at /docker-entrypoint-initdb.d). Creates the role web, worker and beat connect as:
# no superuser, no BYPASSRLS, owning nothing, so that PostgreSQL's row-level security holds for
# it (docs/operations.md, "Row-level security: two database roles"). The migrate service, as
# the owner (POSTGRES_USER), grants it its privileges (DATABASE_APP_ROLE).
set -eu
password=$(cat /run/secrets/app_db_password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v pw="$password" <<'SQL'
CREATE ROLE whistle_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'pw';
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO whistle_app;
SQL
