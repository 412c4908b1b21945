#!/usr/bin/env bash
# Restore a Whistle backup made by deploy/backup.sh into an empty database and an empty file
# store, then bring the schema up to this version (manage.py migrate). See docs/operations.md,
# "Backups and the restore drill".
#
#   deploy/restore.sh --identity KEY_FILE [--force] ARCHIVE
#
# KEY_FILE is the operator's age private key (from age-keygen). Environment: as for the
# service, DATABASE_URL or DATABASE_URL_FILE (the database must exist; a role that may create
# tables: the one migrations run as) and MEDIA_ROOT (default $WHISTLE_VAR_DIR/files), and
# every variable manage.py migrate needs; PYTHON (default .venv/bin/python, else python3).
# Run it as the user the service runs as, so the restored files are the service's own.
#
# Refuses a database that has tables, or a MEDIA_ROOT that has files, unless --force: then the
# database's schema public is emptied first, and files already there are kept beside the
# restored ones (those without a row are removed later by the orphan purge).
set -euo pipefail
umask 077

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
me=restore.sh

die() {
  printf '%s: error: %s\n' "$me" "$*" >&2
  exit 1
}
say() { printf '%s: %s\n' "$me" "$*" >&2; }
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }

identity=
force=
archive=
while [ $# -gt 0 ]; do
  case "$1" in
    -i | --identity) [ $# -ge 2 ] || die "$1 needs a file"; identity=$2; shift 2 ;;
    --force) force=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *) [ -z "$archive" ] || die "one archive only"; archive=$1; shift ;;
  esac
done

for tool in pg_restore psql age tar sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian: postgresql-client, age, tar, coreutils)"
done
[ -n "$archive" ] || die "which backup? give the archive (whistle-backup-….tar)"
[ -r "$archive" ] || die "cannot read $archive"
[ -n "$identity" ] || die "give the operator's private key: --identity KEY_FILE"
[ -r "$identity" ] || die "cannot read the key file $identity"

media=${MEDIA_ROOT:-${WHISTLE_VAR_DIR:-$root/var}/files}
# shellcheck source=deploy/pg-env.sh
. "$here/pg-env.sh"
pg_env_from_database_url || exit 1
python=$(whistle_python) || die "no Python found (set PYTHON)"

# 1. The archive is whole: its checksum, when it lies beside it.
archive_dir=$(cd "$(dirname "$archive")" && pwd)
archive_name=$(basename "$archive")
if [ -f "$archive_dir/$archive_name.sha256" ]; then
  (cd "$archive_dir" && sha256sum --check --status "$archive_name.sha256") ||
    die "$archive does not match its checksum $archive_name.sha256: a damaged copy"
  say "checksum matches"
else
  say "warning: no $archive_name.sha256 beside the archive; its parts are still authenticated by age"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar --extract --file "$archive" --directory "$work" --no-same-owner \
  manifest.txt database.pgdump.age files.tar.age 2>/dev/null ||
  die "$archive is not a Whistle backup (manifest.txt, database.pgdump.age, files.tar.age)"
grep -qx 'whistle-backup-format: 1' "$work/manifest.txt" ||
  die "$archive has a backup format this version does not know"

# 2. The targets are empty (or --force).
tables=$(psql --no-password --no-psqlrc --quiet --tuples-only --no-align --command \
  "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')
     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'") ||
  die "cannot connect to database $PGDATABASE on ${PGHOST:-localhost} (create it first: createdb)"
emptied=
if [ "$tables" != 0 ]; then
  [ -n "$force" ] || die "database $PGDATABASE is not empty ($tables tables, sequences or views): restore into an empty one, or give --force to empty its schema public first"
fi
mkdir -p "$media"
if [ -n "$(find "$media" -mindepth 1 -print -quit)" ]; then
  [ -n "$force" ] || die "MEDIA_ROOT ($media) is not empty: restore into an empty one, or give --force"
  say "--force: MEDIA_ROOT is not empty; files already there stay (without a row the orphan purge removes them)"
fi

# 3. The database: decrypted straight into pg_restore, in one transaction (all or nothing).
if [ "$tables" != 0 ]; then
  # --force: the schema public emptied as a whole (not pg_restore --clean, which cannot drop
  # what a newer schema added and still depends on the backup's objects), recreated as
  # PostgreSQL makes it. Needs the database's owner (the role migrations run as).
  say "--force: emptying the schema public of database $PGDATABASE ($tables relations)"
  psql --no-password --no-psqlrc --quiet --set ON_ERROR_STOP=1 --single-transaction \
    --command 'DROP SCHEMA public CASCADE' \
    --command 'CREATE SCHEMA public AUTHORIZATION pg_database_owner' \
    --command 'GRANT USAGE ON SCHEMA public TO PUBLIC' ||
    die "could not empty the schema public (is this role the database's owner?); the database is unchanged"
  emptied=" (its schema public was emptied: restore again once the cause is fixed)"
fi
say "restoring database $PGDATABASE on ${PGHOST:-localhost}"
set +e
age --decrypt --identity "$identity" "$work/database.pgdump.age" |
  pg_restore --no-password --no-owner --exit-on-error --single-transaction --dbname "$PGDATABASE"
status=("${PIPESTATUS[@]}")
set -e
[ "${status[0]}" -eq 0 ] || die "age could not decrypt the database part (exit ${status[0]}): wrong key, or a damaged archive; nothing was restored$emptied"
[ "${status[1]}" -eq 0 ] || die "pg_restore failed (exit ${status[1]}); nothing was restored$emptied"

# 4. The file store: decrypted straight into tar. Modification times are kept, so the orphan
# purge treats the files as it did before (each restored row holds its file).
say "restoring the file store into $media"
set +e
age --decrypt --identity "$identity" "$work/files.tar.age" |
  tar --extract --file - --directory "$media" --no-same-owner
status=("${PIPESTATUS[@]}")
set -e
[ "${status[0]}" -eq 0 ] || die "age could not decrypt the file store part (exit ${status[0]}); the database IS restored: fix the cause and run again with --force"
[ "${status[1]}" -eq 0 ] || die "tar failed to restore the file store (exit ${status[1]}); the database IS restored: fix the cause and run again with --force"

# 5. The schema of this version (a backup of an older version restores and upgrades).
say "migrating the database to this version"
(cd "$root" && "$python" manage.py migrate --noinput) ||
  die "manage.py migrate failed: the data is restored, the schema is not up to date; fix the cause and run manage.py migrate"

cat >&2 <<EOF
$me: restored $(sed -n 's/^created: //p' "$work/manifest.txt") into database $PGDATABASE and $media.
Next:
  1. Give the service the SAME RECEIPT_PEPPER (and SECRET_KEY) as before: without the pepper no
     receipt opens. They are not in the backup.
  2. Start the processes (web, Celery worker, exactly one Celery beat). Redis starts empty of
     this installation's jobs: the catch-up jobs send the office notices and reminders again.
  3. Check: /readyz answers 200; a handler logs in and opens a case.
  Files written after the backup was taken have no row and are removed by the orphan purge;
  everything since the backup (reports, messages) is lost: tell the offices the time of the
  backup ($(sed -n 's/^created: //p' "$work/manifest.txt")).
EOF
