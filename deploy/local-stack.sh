#!/usr/bin/env bash
# The whole Whistle stack on this machine, without containers (docs/operations.md, "The whole
# stack without containers"): against the machine's PostgreSQL and Redis (both must be
# running; bin/test starts them), it creates the database if missing, runs the migrations and
# collectstatic, then starts two `manage.py serve` processes behind a small round-robin proxy
# (deploy/stack_proxy.py), a Celery worker and Celery beat, each restarted when it dies. It
# prints where it listens, logs each process to $STACK_DIR/<name>.log, and stops everything on
# Ctrl+C or SIGTERM.
#
# Production settings (WHISTLE_MODE=production) over plain HTTP: no SSL redirect, and
# X-Forwarded-Proto is not trusted (the proxy terminates no TLS). Every variable below has a
# default for a local run; any other variable of the README's table passes through.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# Lead a process group of our own, so that stopping reaches every process we started and
# nothing else (an interactive shell already makes us its leader; keep Ctrl+C working there).
if [ -r /proc/$$/stat ]; then
  pgid=$(cut -d ' ' -f 5 /proc/$$/stat)
else
  pgid=$(ps -o pgid= -p $$ | tr -d ' ')
fi
if [ "$pgid" != "$$" ] && command -v setsid >/dev/null; then
  exec setsid "$0" "$@"
fi

if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON=$ROOT/.venv/bin/python; else PYTHON=python3; fi
fi
STACK_DIR=${STACK_DIR:-$ROOT/var/stack}
STACK_HOST=${STACK_HOST:-127.0.0.1}
STACK_PORT=${STACK_PORT:-8000}          # the proxy: where to point a browser
STACK_PORT_A=${STACK_PORT_A:-8001}      # serve process A
STACK_PORT_B=${STACK_PORT_B:-8002}      # serve process B
WORKER_CONCURRENCY=${WORKER_CONCURRENCY:-2}
STACK_START_TIMEOUT=${STACK_START_TIMEOUT:-120}

mkdir -p "$STACK_DIR"
chmod 700 "$STACK_DIR"
say() { printf '%s local-stack: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# A secret generated once into $STACK_DIR and handed over as NAME_FILE, unless NAME or
# NAME_FILE is set already.
secret_file() {
  local name=$1 file=$STACK_DIR/$2 file_name=${1}_FILE
  if [ -z "${!name:-}" ] && [ -z "${!file_name:-}" ]; then
    if [ ! -s "$file" ]; then
      (umask 077 && "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))' >"$file")
    fi
    export "${name}_FILE=$file"
  fi
}
secret_file SECRET_KEY secret_key
secret_file RECEIPT_PEPPER receipt_pepper

export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-whistle.settings}
export WHISTLE_MODE=${WHISTLE_MODE:-production}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/whistle_stack}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/1}
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
export WHISTLE_VAR_DIR=${WHISTLE_VAR_DIR:-$STACK_DIR}
export MEDIA_ROOT=${MEDIA_ROOT:-$STACK_DIR/files}
export STATIC_ROOT=${STATIC_ROOT:-$STACK_DIR/static}
export WHISTLE_BASE_URL=${WHISTLE_BASE_URL:-http://$STACK_HOST:$STACK_PORT}
# Mail goes to an SMTP server on this machine (a sink such as Mailpit, or a relay).
export EMAIL_HOST=${EMAIL_HOST:-127.0.0.1}
export EMAIL_PORT=${EMAIL_PORT:-1025}
export EMAIL_USE_TLS=${EMAIL_USE_TLS:-false}
# Plain HTTP: what differs from production (docs/operations.md).
export SECURE_SSL_REDIRECT=${SECURE_SSL_REDIRECT:-false}
export TRUST_X_FORWARDED_PROTO=${TRUST_X_FORWARDED_PROTO:-false}
export LOG_LEVEL=${LOG_LEVEL:-INFO}
export PYTHONUNBUFFERED=1
export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}

say "checking PostgreSQL and Redis; creating the database if missing"
"$PYTHON" - <<'EOF' || { say "start PostgreSQL and Redis first (bin/test starts both)"; exit 1; }
import os
import sys

import dj_database_url
import psycopg
import redis
from psycopg import sql

db = dj_database_url.parse(os.environ["DATABASE_URL"])
params = {
    "host": db.get("HOST") or "127.0.0.1",
    "port": db.get("PORT") or 5432,
    "user": db.get("USER") or None,
    "password": db.get("PASSWORD") or None,
    "connect_timeout": 5,
}
try:
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        name = db["NAME"]
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=5).ping()
except (psycopg.Error, redis.RedisError) as error:
    print(f"local-stack: {type(error).__name__}: {error}", file=sys.stderr)
    sys.exit(1)
EOF

LOGS=$STACK_DIR
say "migrations and static files (logs: $LOGS/setup.log)"
if ! { "$PYTHON" manage.py migrate --noinput && "$PYTHON" manage.py collectstatic --noinput -v0; } \
  >>"$LOGS/setup.log" 2>&1; then
  tail -n 30 "$LOGS/setup.log" >&2
  exit 1
fi

# supervise NAME COMMAND...: run COMMAND with its output in $LOGS/NAME.log and its pid in
# $STACK_DIR/NAME.pid, and start it again a second after it dies, until told to stop (TERM).
supervise() {
  local name=$1
  shift
  local pid='' status stopping=''
  # Ctrl+C reaches every process of the terminal's group, this one too: stop, do not restart.
  trap 'stopping=1; [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true' INT TERM
  while [ -z "$stopping" ]; do
    "$@" >>"$LOGS/$name.log" 2>&1 &
    pid=$!
    echo "$pid" >"$STACK_DIR/$name.pid"
    status=0
    wait "$pid" || status=$?
    while kill -0 "$pid" 2>/dev/null; do wait "$pid" || status=$?; done  # woken by the trap
    [ -z "$stopping" ] || break
    sleep 1
    [ -z "$stopping" ] && [ ! -e "$STACK_DIR/stopping" ] || break
    say "$name (pid $pid) exited with status $status; starting it again" | tee -a "$LOGS/$name.log"
  done
  rm -f "$STACK_DIR/$name.pid"
}

stop() {  # stop [EXIT_STATUS]
  trap '' INT TERM
  : >"$STACK_DIR/stopping"
  say "stopping"
  kill -TERM "${supervisors[@]}" 2>/dev/null || true
  # Whatever has not ended after 30 s is killed, with the whole process group.
  # (One process, so that killing it leaves nothing behind.)
  "$PYTHON" -c 'import os, time
time.sleep(30)
print("local-stack: still running after 30 s: killing the process group", flush=True)
os.killpg(0, 9)' &
  local watchdog=$!
  wait "${supervisors[@]}" 2>/dev/null || true
  { kill -KILL "$watchdog" && wait "$watchdog"; } 2>/dev/null || true
  rm -f "$STACK_DIR/stopping"
  say "stopped"
  exit "${1:-0}"
}
supervisors=()
trap 'stop 0' INT TERM

rm -f "$STACK_DIR"/*.pid "$STACK_DIR/stopping"
for name in web-a web-b worker beat proxy; do  # the previous run's logs are kept as *.log.1
  [ ! -f "$LOGS/$name.log" ] || mv "$LOGS/$name.log" "$LOGS/$name.log.1"
done
celery=("$PYTHON" -m celery -A whistle)
supervise web-a "$PYTHON" manage.py serve --host "$STACK_HOST" --port "$STACK_PORT_A" &
supervisors+=($!)
supervise web-b "$PYTHON" manage.py serve --host "$STACK_HOST" --port "$STACK_PORT_B" &
supervisors+=($!)
supervise worker "${celery[@]}" worker --loglevel INFO --concurrency "$WORKER_CONCURRENCY" \
  --without-gossip --without-mingle --without-heartbeat &
supervisors+=($!)
supervise beat "${celery[@]}" beat --loglevel INFO --schedule "$STACK_DIR/celerybeat-schedule" &
supervisors+=($!)
supervise proxy "$PYTHON" deploy/stack_proxy.py --listen "$STACK_HOST:$STACK_PORT" \
  "$STACK_HOST:$STACK_PORT_A" "$STACK_HOST:$STACK_PORT_B" &
supervisors+=($!)

listening() { (exec 3<>"/dev/tcp/$STACK_HOST/$1") 2>/dev/null; }
started() {
  listening "$STACK_PORT_A" && listening "$STACK_PORT_B" && listening "$STACK_PORT" &&
    grep -q ' ready\.' "$LOGS/worker.log" 2>/dev/null &&
    grep -q 'beat: Starting' "$LOGS/beat.log" 2>/dev/null
}
for _ in $(seq 1 $((STACK_START_TIMEOUT * 4))); do
  started && break
  sleep 0.25
done
if ! started; then
  say "not every process started within ${STACK_START_TIMEOUT} s; see $LOGS/*.log"
  stop 1
fi

cat <<EOF
Whistle stack ready: http://$STACK_HOST:$STACK_PORT/ (staff: /staff/login/)
  proxy   $STACK_HOST:$STACK_PORT, round robin per connection over
  web-a   $STACK_HOST:$STACK_PORT_A (manage.py serve)
  web-b   $STACK_HOST:$STACK_PORT_B (manage.py serve)
  worker  celery worker, concurrency $WORKER_CONCURRENCY
  beat    celery beat
  mail    SMTP $EMAIL_HOST:$EMAIL_PORT
  logs    $LOGS/{setup,web-a,web-b,worker,beat,proxy}.log
Ctrl+C (or SIGTERM) stops everything.
EOF

wait "${supervisors[@]}" || true  # returns when a signal arrives (the trap then stops all)
stop 0
