#!/bin/sh
# Create the compose stack's secret files under deploy/secrets/ (git-ignored), once.
#
#   deploy/make-secrets.sh            (from anywhere; Docker is not needed)
#
# An existing file is never overwritten: the receipt pepper in particular must stay the same
# for the life of the service (losing or changing it makes every receipt useless). Back up
# secret_key and receipt_pepper separately from the database backups (docs/operations.md).
# EMAIL_HOST_PASSWORD is taken from the environment when set; otherwise the file is left
# empty for the operator to fill in.
set -eu
umask 077
dir=${WHISTLE_SECRETS_DIR:-"$(cd "$(dirname "$0")" && pwd)/secrets"}
mkdir -p "$dir"
chmod 0700 "$dir"

random() {  # $1 characters from [A-Za-z0-9], from the kernel's random source
  LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | dd bs="$1" count=1 2>/dev/null
}

created=""
write() {  # write NAME VALUE: only when NAME does not exist yet
  if [ -e "$dir/$1" ]; then
    return 0
  fi
  printf '%s' "$2" >"$dir/$1"
  # Readable inside the containers, whose users are not the file's owner; the directory
  # (0700) keeps other users of this machine out.
  chmod 0444 "$dir/$1"
  created="$created $1"
}

write secret_key "$(random 64)"
write receipt_pepper "$(random 48)"
write email_host_password "${EMAIL_HOST_PASSWORD:-}"
# The bearer token Prometheus sends for /metrics of the web processes (docs/operations.md,
# "Observability"); give the same file to Prometheus.
write metrics_token "$(random 48)"

# PostgreSQL: the owner's password (the server's POSTGRES_USER, for migrations and backups) and
# the URL the migrate service connects with; the application role's password (created by
# deploy/postgres-init/ with the data directory; no BYPASSRLS, owns nothing) and the URL web,
# worker and beat connect with.
if [ ! -e "$dir/postgres_password" ]; then
  write postgres_password "$(random 40)"
  rm -f "$dir/migrate_database_url"
fi
write migrate_database_url "postgres://whistle:$(cat "$dir/postgres_password")@postgres:5432/whistle"
if [ ! -e "$dir/app_db_password" ]; then
  write app_db_password "$(random 40)"
  rm -f "$dir/database_url"
fi
write database_url "postgres://whistle_app:$(cat "$dir/app_db_password")@postgres:5432/whistle"

# Redis: the application's user and password (an ACL file for the server), and the URL. The
# default user may only PING (the health check).
if [ ! -e "$dir/redis_users.acl" ]; then
  redis_password=$(random 40)
  write redis_users.acl "user default on nopass -@all +ping
user whistle on >$redis_password ~* &* +@all
"
  rm -f "$dir/redis_url"
  write redis_url "redis://whistle:$redis_password@redis:6379/0"
fi

if [ -n "$created" ]; then
  echo "created in $dir:$created"
else
  echo "all secrets exist in $dir; nothing changed"
fi
if [ ! -s "$dir/email_host_password" ]; then
  echo "note: $dir/email_host_password is empty; put the SMTP password there if the server needs one"
fi
