#!/usr/bin/env bash
# Back up Whistle: a consistent PostgreSQL dump and the file store (MEDIA_ROOT), encrypted to the
# operator's age public key. Nothing unencrypted is written to disk: pg_dump and tar stream
# straight into age. See docs/operations.md, "Backups and the restore drill".
#
#   deploy/backup.sh --recipients FILE [--output-dir DIR]
#
# FILE holds the operator's age public key(s) (age1…, one a line; `age-keygen -y key.txt`
# prints it). Environment: DATABASE_URL or DATABASE_URL_FILE (a role that can read every row:
# the one migrations run as), MEDIA_ROOT (default: $WHISTLE_VAR_DIR/files, as the service);
# BACKUP_RECIPIENTS_FILE and BACKUP_DIR stand in for the options.
#
# Writes DIR/whistle-backup-YYYYMMDDTHHMMSSZ.tar and its checksum, ….tar.sha256. The archive
# holds manifest.txt (plain: format, time, tool versions), database.pgdump.age (pg_dump
# --format=custom) and files.tar.age (MEDIA_ROOT): each part encrypted to the recipients.
#
# NOT in the backup, by design: SECRET_KEY and RECEIPT_PEPPER (keep them apart; without the
# pepper no receipt opens) and Redis (jobs in flight; the catch-up jobs send again).
set -euo pipefail
umask 077

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
me=backup.sh

die() {
  printf '%s: error: %s\n' "$me" "$*" >&2
  exit 1
}
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }

recipients=${BACKUP_RECIPIENTS_FILE:-}
outdir=${BACKUP_DIR:-}
while [ $# -gt 0 ]; do
  case "$1" in
    -r | --recipients) [ $# -ge 2 ] || die "$1 needs a file"; recipients=$2; shift 2 ;;
    -o | --output-dir) [ $# -ge 2 ] || die "$1 needs a directory"; outdir=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

for tool in pg_dump age tar sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian: postgresql-client, age, tar, coreutils)"
done
[ -n "$recipients" ] || die "no operator public key: give --recipients FILE (or BACKUP_RECIPIENTS_FILE)"
[ -r "$recipients" ] && [ -s "$recipients" ] || die "cannot read the recipients file $recipients"
grep -q 'AGE-SECRET-KEY' "$recipients" &&
  die "$recipients holds a private key: give the public key only (age-keygen -y) and keep the private key offline"
age --encrypt --recipients-file "$recipients" </dev/null >/dev/null ||
  die "$recipients holds no valid age recipient"
[ -n "$outdir" ] || die "no output directory: give --output-dir DIR (or BACKUP_DIR)"
[ -d "$outdir" ] && [ -w "$outdir" ] || die "the output directory $outdir does not exist or is not writable"
outdir=$(cd "$outdir" && pwd)

media=${MEDIA_ROOT:-${WHISTLE_VAR_DIR:-$root/var}/files}
[ -d "$media" ] || die "MEDIA_ROOT ($media) is not a directory"

# The connection, from DATABASE_URL or DATABASE_URL_FILE, into libpq's variables: the password
# never appears on a command line.
# shellcheck source=deploy/pg-env.sh
. "$here/pg-env.sh"
pg_env_from_database_url || exit 1

stamp=$(date -u +%Y%m%dT%H%M%SZ)
name=whistle-backup-$stamp
final=$outdir/$name.tar
[ ! -e "$final" ] || die "$final exists already"
work=$(mktemp -d "$outdir/.$name.XXXXXX")
cleanup() {
  status=$?
  rm -rf "$work"
  if [ "$status" -ne 0 ]; then
    rm -f "$final.part"
    printf '%s: FAILED: no backup was written\n' "$me" >&2
  fi
}
trap cleanup EXIT

say() { printf '%s: %s\n' "$me" "$*" >&2; }

# 1. The database first, then the files: a file written after the dump's snapshot has no row in
# it and is removed after a restore by the orphan purge; the other way round, a restored row
# could name a file the archive lacks. pg_dump reads one snapshot (consistent while the
# service runs).
say "dumping database $PGDATABASE on ${PGHOST:-localhost}"
set +e
pg_dump --format=custom --no-password --quote-all-identifiers |
  age --encrypt --recipients-file "$recipients" --output "$work/database.pgdump.age"
status=("${PIPESTATUS[@]}")
set -e
[ "${status[0]}" -eq 0 ] || die "pg_dump failed (exit ${status[0]}): is the database reachable, and may this role read every table?"
[ "${status[1]}" -eq 0 ] || die "age failed to encrypt the database dump (exit ${status[1]})"

# 2. The file store: its files are ciphertext already (under case keys); encrypted once more
# here so the archive reveals not even their number and sizes.
say "archiving the file store $media"
set +e
tar --create --file - --directory "$media" --numeric-owner --warning=no-file-changed \
  --warning=no-file-removed --warning=no-file-shrank . |
  age --encrypt --recipients-file "$recipients" --output "$work/files.tar.age"
status=("${PIPESTATUS[@]}")
set -e
# tar exits 1 when a file changed or vanished while it was read: an upload being written or a
# case being deleted meanwhile; neither is in the database dump taken before.
[ "${status[0]}" -le 1 ] || die "tar failed to read $media (exit ${status[0]})"
[ "${status[1]}" -eq 0 ] || die "age failed to encrypt the file store (exit ${status[1]})"

cat >"$work/manifest.txt" <<EOF
whistle-backup-format: 1
created: $stamp
pg_dump: $(pg_dump --version)
age: $(age --version)
parts: database.pgdump.age (pg_dump --format=custom), files.tar.age (tar of MEDIA_ROOT)
encrypted-to: $(grep -c '^age1' "$recipients" || true) age recipient(s)
not-included: SECRET_KEY, RECEIPT_PEPPER (back up apart from this archive), Redis
restore: deploy/restore.sh --identity OPERATOR_KEY_FILE $name.tar
EOF

tar --create --file "$final.part" --directory "$work" --numeric-owner \
  manifest.txt database.pgdump.age files.tar.age
mv "$final.part" "$final"
(cd "$outdir" && sha256sum "$name.tar" >"$name.tar.sha256")

printf '%s\n' "$final"
say "wrote $final ($(du -h "$final" | cut -f1)) and $name.tar.sha256"
say "NOT in this backup: SECRET_KEY and RECEIPT_PEPPER (keep their own copy, apart from the"
say "backups: without the pepper no receipt opens) and Redis (queued jobs; catch-up jobs resend)."
