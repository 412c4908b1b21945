"""Whistle settings: everything comes from environment variables (see README, "Configuration").

``WHISTLE_MODE`` chooses the defaults:

- ``production`` (the default, so a forgotten variable fails closed): ``SECRET_KEY``,
  ``DATABASE_URL``, ``REDIS_URL``, ``ALLOWED_HOSTS`` and ``RECEIPT_PEPPER`` are mandatory;
  HTTPS-only cookies, HSTS, SSL redirect.
- ``quickstart``: the embedded default of DESIGN §6 — SQLite and files under ``var/``, jobs run
  in-process, in-memory channel layer, e-mail written to ``var/mail``; a secret key and pepper are
  generated once into ``var/``. Served on 127.0.0.1 only.
- ``test``: set by ``tests/settings.py``; like production in shape, plain HTTP, cheap KDFs.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from whistle.env import Env
from whistle.pgreset import reset_rls_settings

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env()

WHISTLE_MODE = env.choice("WHISTLE_MODE", ("production", "quickstart", "test"), "production")
PRODUCTION = WHISTLE_MODE == "production"
QUICKSTART = WHISTLE_MODE == "quickstart"
VAR_DIR = Path(env.string("WHISTLE_VAR_DIR", str(BASE_DIR / "var")))


def _generated_secret(name: str) -> str:
    """A random secret kept in ``var/`` so quickstart restarts keep sessions and receipts."""
    path = VAR_DIR / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


# --- core -----------------------------------------------------------------------------------
DEBUG = env.boolean("WHISTLE_DEBUG", default=False)
if DEBUG and PRODUCTION:
    raise ImproperlyConfigured("WHISTLE_DEBUG must not be true when WHISTLE_MODE is production.")

if QUICKSTART:
    SECRET_KEY = env.string("SECRET_KEY") or _generated_secret("secret_key")
else:
    SECRET_KEY = env.string("SECRET_KEY", required=True)
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters.")

# Tenant hostnames are checked against the database by whistle.tenants.middleware, which answers
# unknown hosts with the neutral 404. ALLOWED_HOSTS names the operator's own hosts (staff pages,
# /t/<slug>/ reporter pages); Django's own host check is therefore opened here and done there.
WHISTLE_HOSTS = [h.lower() for h in env.items("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])]
if PRODUCTION and not env.raw("ALLOWED_HOSTS"):
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set (comma-separated host names).")
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "whistle.accounts",
    "whistle.tenants",
    "whistle.keys",
    "whistle",
    "intake",
    "casework",
    "chat",
    "console",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "channels",
    "csp",
]

MIDDLEWARE = [
    # Outermost, so the time counted is the whole answer (whistle/metrics.py).
    "whistle.metrics.RequestMetricsMiddleware",
    # Row-level security's principal (the tenant, the account) for the rest of the request.
    "whistle.rls.PrincipalMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whistle.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "whistle.tenants.middleware.TenantMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "whistle.middleware.TenantLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "whistle.csrf.WhistleCsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "whistle.vault.SessionVaultMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "whistle.accounts.middleware.StaffSessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "whistle.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "whistle.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "whistle.context_processors.whistle",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
_default_db = f"sqlite:///{VAR_DIR / 'whistle.sqlite3'}" if QUICKSTART else None
_database_url = env.string("DATABASE_URL", _default_db, required=not QUICKSTART)
try:
    DATABASES = {"default": dict(dj_database_url.parse(_database_url))}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL ({exc}).") from None
if DATABASES["default"]["ENGINE"] not in (
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
):
    raise ImproperlyConfigured("DATABASE_URL must name a postgres:// or sqlite:/// database.")
if PRODUCTION and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL in production.")
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A connection pool per process (psycopg_pool), not persistent connections: under ASGI each
    # request's synchronous part runs on a thread of its own, so a per-thread persistent
    # connection is never reused and lingers until garbage collection (measured: 20 requests
    # left 20 connections open). With the pool, closing a connection returns it.
    DATABASE_POOL_SIZE = env.integer("DATABASE_POOL_SIZE", 10, minimum=1)
    # An outage must be answered within about two seconds, not hang every request (issue 12):
    # a new connection gives up after DATABASE_CONNECT_TIMEOUT seconds (libpq counts at least
    # 2), a request waits at most DATABASE_POOL_TIMEOUT seconds for a pooled connection, and
    # unacknowledged data (a black-holed server) ends the connection after as long. The
    # request then gets the 503 "try again" page (whistle.outage) with what was typed.
    DATABASE_CONNECT_TIMEOUT = env.integer("DATABASE_CONNECT_TIMEOUT", 2, minimum=1)
    DATABASE_POOL_TIMEOUT = env.integer("DATABASE_POOL_TIMEOUT", 2, minimum=1)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        **dict(DATABASES["default"].get("OPTIONS") or {}),  # type: ignore[call-overload]
        "connect_timeout": DATABASE_CONNECT_TIMEOUT,
        "tcp_user_timeout": DATABASE_CONNECT_TIMEOUT * 1000,
        "pool": {
            "min_size": 1,
            "max_size": DATABASE_POOL_SIZE,
            "timeout": DATABASE_POOL_TIMEOUT,
            # A returned connection keeps no row-level-security principal (whistle.rls).
            "reset": reset_rls_settings,
        },
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The role the application connects as in production (no BYPASSRLS, owns no table): migrate,
# which runs as the owner, grants it DML on every table and installs the row-level-security
# policies (whistle.rls, docs/operations.md). Empty: no grants (tests and quickstart).
DATABASE_APP_ROLE = env.string("DATABASE_APP_ROLE", "")

# --- Redis: channel layer, Celery broker, cache ---------------------------------------------
REDIS_URL = env.string("REDIS_URL", required=PRODUCTION)
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://.")

# Seconds a Redis connection attempt or command may take before it counts as an outage (the
# request then gets the 503 page, or, after a commit, the side effect is skipped and caught up).
REDIS_TIMEOUT = env.integer("REDIS_TIMEOUT", 2, minimum=1)

if REDIS_URL:
    # Redis publish/subscribe: one PUBLISH per event, one subscription connection per process.
    # Events are not queued for a socket that is away; none needs to be: they carry ids only and
    # a reconnecting page catches up from the database (docs/architecture.md, chat).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                # No socket_timeout here: the subscription connection waits for events.
                # Publishes are bounded by chat.events.PUBLISH_TIMEOUT instead.
                "hosts": [{"address": REDIS_URL, "socket_connect_timeout": REDIS_TIMEOUT}],
                "prefix": "whistle:ch",
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "whistle.cache.SharedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "whistle",
            "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Without a broker (quickstart) tasks run in the calling process; beat jobs are run by
# whistle.scheduler inside the server process.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A task is acknowledged when it has finished, not when it starts: a worker killed mid-task
# (OOM, deploy, crash) leaves its task in Redis, and another worker runs it again. Every task
# is written for that (idempotent by a unique row marked after the work: casework.notices,
# casework.reminders, retention). With the Redis broker an unacknowledged task comes back
# after the visibility timeout; Kombu's default of an hour let a notice wait an hour. Our
# longest job (the retention run) takes about a minute on 100,000 cases
# (docs/performance.md); tasks are stopped at CELERY_TASK_TIME_LIMIT, which stays below the
# visibility timeout so that a task still running is never handed to a second worker.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
WHISTLE_CELERY_VISIBILITY_TIMEOUT = env.integer("CELERY_VISIBILITY_TIMEOUT", 600, minimum=1)
CELERY_TASK_TIME_LIMIT = max(2, WHISTLE_CELERY_VISIBILITY_TIMEOUT // 2)
CELERY_TASK_SOFT_TIME_LIMIT = max(1, CELERY_TASK_TIME_LIMIT * 9 // 10)
# A worker looks for the unacknowledged tasks of a dead one (those whose visibility timeout is
# over) every sixth of the timeout: Kombu's own 10 s x every 10th sweep = 100 s for the default
# of 600 s, and promptly for the short timeouts the tests use (deploy/local-stack.sh).
_RESTORE_EVERY = max(1, WHISTLE_CELERY_VISIBILITY_TIMEOUT // 6)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": WHISTLE_CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": min(10, _RESTORE_EVERY),
    "unacked_restore_throttle": max(1, _RESTORE_EVERY // min(10, _RESTORE_EVERY)),
    "socket_connect_timeout": REDIS_TIMEOUT,
    # Above the worker's blocking read of 1 s (Kombu's brpop_timeout).
    "socket_timeout": REDIS_TIMEOUT + 3,
}
# Queuing after a commit is best effort: with the broker down, fail fast (and let the job
# that catches up send it) instead of retrying for seconds inside a request.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT
# Deadline reminders run hourly (at minute 17); REMINDER_INTERVAL_SECONDS runs them every so many
# seconds instead (the local stack's test lets beat fire them within seconds). 0: hourly.
REMINDER_INTERVAL_SECONDS = env.integer("REMINDER_INTERVAL_SECONDS", 0, minimum=0)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "purge-expired-sessions": {
        "task": "whistle.tasks.purge_expired_sessions",
        "schedule": crontab(minute="*/15"),
    },
    "catch-up-office-notices": {
        "task": "casework.tasks.catch_up_office_notices",
        "schedule": crontab(minute="*/5"),
    },
    "catch-up-new-report-notices": {
        "task": "casework.tasks.catch_up_new_report_notices",
        "schedule": crontab(minute="1-59/5"),
    },
    # Each member's digest of new reports, in the morning (TIME_ZONE, Europe/Berlin).
    "new-report-digests": {
        "task": "casework.tasks.send_new_report_digests",
        "schedule": crontab(hour=7, minute=3),
    },
    "deadline-reminders": {
        "task": "casework.tasks.send_deadline_reminders",
        "schedule": REMINDER_INTERVAL_SECONDS or crontab(minute=17),
    },
    "retention": {
        "task": "casework.tasks.run_retention",
        "schedule": crontab(hour=3, minute=30),
    },
    # Every five minutes: a file without a row goes within ORPHAN_FILE_MINUTES + 5 minutes.
    "purge-orphan-files": {
        "task": "casework.tasks.purge_orphan_files",
        "schedule": crontab(minute="2-59/5"),
    },
    "purge-accessibility-feedback": {
        "task": "intake.tasks.purge_accessibility_feedback",
        "schedule": crontab(hour=3, minute=50),
    },
    "purge-stale-login-throttles": {
        "task": "whistle.accounts.tasks.purge_stale_throttles",
        "schedule": crontab(minute=7),
    },
    "purge-invitations": {
        "task": "whistle.accounts.tasks.purge_invitations",
        "schedule": crontab(minute=11),
    },
}

# --- auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
OTP_TOTP_ISSUER = env.string("OTP_ISSUER", "Whistle")
OTP_TOTP_THROTTLE_FACTOR = 1
# Staff sessions: idle and absolute limits (seconds), enforced by StaffSessionTimeoutMiddleware.
STAFF_IDLE_TIMEOUT = env.integer("STAFF_IDLE_TIMEOUT", 30 * 60, minimum=60)
STAFF_ABSOLUTE_TIMEOUT = env.integer("STAFF_ABSOLUTE_TIMEOUT", 12 * 3600, minimum=600)
# Failed password attempts per account before growing delays start, and the longest delay.
LOGIN_THROTTLE_FREE_ATTEMPTS = 3
LOGIN_THROTTLE_MAX_DELAY = 15 * 60
# Known-device cookies (whistle/accounts/devices.py): a browser that completed a full login
# skips the per-account throttle for this many days (renewed at each full login), and loses
# that after LOGIN_DEVICE_FAILURES wrong passwords of its own.
STAFF_DEVICE_DAYS = env.integer("STAFF_DEVICE_DAYS", 180, minimum=1)
# Days an invitation link (whistle/accounts/invitations.py) stays valid; unused ones are purged.
INVITATION_VALID_DAYS = env.integer("INVITATION_VALID_DAYS", 7, minimum=1)
LOGIN_DEVICE_FAILURES = 5
LOGIN_DEVICES_PER_USER = 10
LOGIN_DEVICE_COOKIE_NAME = "whistle_device"
# Reporter mailbox sessions end after this many idle seconds (the draft of a report is kept).
REPORTER_IDLE_TIMEOUT = 15 * 60
# Submission floods (intake/flood.py): nothing is refused for volume. Above the normal rate
# per tenant and hour, reports sent without real writing time are listed apart as suspected
# flood; above the alert rate the operator is alerted once per hour. Each submission costs a
# proof of work (JavaScript) or a minimum time per step (without JavaScript).
INTAKE_SUBMISSIONS_PER_TENANT_HOUR = env.integer(
    "INTAKE_SUBMISSIONS_PER_TENANT_HOUR", 30, minimum=1
)
INTAKE_SUBMISSIONS_ALERT_HOUR = env.integer("INTAKE_SUBMISSIONS_ALERT_HOUR", 300, minimum=1)
INTAKE_FLOOD_WRITING_SECONDS = env.integer("INTAKE_FLOOD_WRITING_SECONDS", 120, minimum=0)
INTAKE_POW_BITS = env.integer("INTAKE_POW_BITS", 18, minimum=0)
INTAKE_MIN_STEP_SECONDS = env.integer("INTAKE_MIN_STEP_SECONDS", 4, minimum=0)
# Receipt checks per tenant and minute of lookup parts that had wrong secrets in the last 15
# minutes (intake/receipt_gate.py); lookup parts without recent failures never count.
INTAKE_RECEIPT_FAILED_CHECKS_PER_TENANT_MINUTE = env.integer(
    "INTAKE_RECEIPT_FAILED_CHECKS_PER_TENANT_MINUTE", 30, minimum=1
)

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = STAFF_ABSOLUTE_TIMEOUT
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "whistle_session"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_AGE = None  # browser-session cookie: no persistent cookies on reporters' devices
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_FAILURE_VIEW = "whistle.views.csrf_failure"

# --- transport security ---------------------------------------------------------------------
_https = PRODUCTION or env.boolean("WHISTLE_HTTPS", default=False)
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = _https and env.boolean("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 31536000 if _https else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", default=True)
if env.boolean("TRUST_X_FORWARDED_PROTO", default=PRODUCTION):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "no-referrer"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# security.W003 looks for django.middleware.csrf by name; we run a subclass (whistle.csrf) that
# accepts Fetch Metadata as proof of origin under Referrer-Policy: no-referrer. whistle.E001
# checks that it is installed instead.
SILENCED_SYSTEM_CHECKS = ["security.W003"]
PERMISSIONS_POLICY = (
    "camera=(), geolocation=(), microphone=(), payment=(), usb=(), interest-cohort=()"
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        # The proof-of-work worker of the report's check page (intake/static/intake/pow.js).
        "worker-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "whistle" / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Berlin"
LANGUAGE_COOKIE_AGE = None  # a browser-session cookie: nothing persistent on reporters' devices
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = _https

# --- static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.string("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_ROOT = Path(env.string("MEDIA_ROOT", str(VAR_DIR / "files")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing root
FILE_UPLOAD_PERMISSIONS = 0o600
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Every uploaded file is received into an encrypted spool (whistle/uploads.py); no plaintext
# temporary file is ever written. Bodies over WHISTLE_MAX_REQUEST_MB are refused (413).
FILE_UPLOAD_HANDLERS = ["whistle.uploads.EncryptedSpoolUploadHandler"]
WHISTLE_MAX_FILE_MB = env.integer("WHISTLE_MAX_FILE_MB", 100, minimum=1)
WHISTLE_MAX_REQUEST_MB = env.integer("WHISTLE_MAX_REQUEST_MB", 600, minimum=1)

# --- e-mail ---------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "whistle@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The operator's addresses for content-free alerts (a submission flood on a tenant). Not
# Django's ADMINS: nothing else of Django may mail them (error mails would carry requests).
OPERATOR_EMAILS = env.items("OPERATOR_EMAILS")
EMAIL_HOST = env.string("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env.integer("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env.string("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", default=True)
    EMAIL_TIMEOUT = 20
elif PRODUCTION:
    raise ImproperlyConfigured("EMAIL_HOST must be set (the SMTP server for notifications).")
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")

# --- logging --------------------------------------------------------------------------------
# Everything goes to the root logger on stderr, so one place sees (and the tests can check) all
# output. django.server and uvicorn access logs are off: they would record reporters' addresses
# (tests/whistle/test_serve_logs.py).
LOG_LEVEL = env.choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
# "text" (one line per record, as always) or "json": one JSON object per line for a log
# collector (whistle/logformat.py): time, level, logger, message, and for request records the
# route name instead of the path. The filters below apply in both formats.
LOG_FORMAT = env.choice("LOG_FORMAT", ("text", "json"), "text")
# uvicorn logs through these loggers too (`manage.py serve` passes no log config of its own):
# its handshake lines carry client addresses, so every uvicorn logger gets the NoClientAddress
# filter, and stays at INFO whatever LOG_LEVEL says: at DEBUG the websockets library logs the
# handshake headers (cookies, user agent) and frames through "uvicorn.error".
_NO_ADDRESS = {"filters": ["no_client_address"], "level": "INFO"}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_client_address": {"()": "whistle.logfilters.NoClientAddress"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "whistle.logformat.JsonFormatter"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
        }
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": [], "level": "CRITICAL", "propagate": False},
        # At DEBUG, Django logs every missing template variable with the whole template
        # context: decrypted report text and messages. Never.
        "django.template": {"level": "INFO"},
        "uvicorn": _NO_ADDRESS,
        "uvicorn.error": _NO_ADDRESS,
        "uvicorn.asgi": _NO_ADDRESS,
        "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        "websockets": {"level": "INFO"},
        "faker": {"level": "WARNING"},
        # Pillow logs image metadata (EXIF, GPS, authors) at DEBUG while parsing uploads: never.
        "PIL": {"level": "WARNING"},
        # weasyprint and fontTools narrate every step at INFO; nothing an operator needs.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# --- metrics (whistle/metrics.py) -----------------------------------------------------------
# The bearer token Prometheus sends to /metrics on the operator's hosts; unset, /metrics is a
# 404 like any missing page. At least 32 characters (give it as METRICS_TOKEN_FILE).
METRICS_TOKEN = env.string("METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 random characters.")

# --- whistle --------------------------------------------------------------------------------
WHISTLE_ONION_ADDRESS = env.string("ONION_ADDRESS", "")
# The service's own address, for links in e-mails to staff (never to reporters).
WHISTLE_BASE_URL = env.string(
    "WHISTLE_BASE_URL", "http://127.0.0.1:8000" if not PRODUCTION else "", required=PRODUCTION
).rstrip("/")

# --- retention (casework/retention.py) -----------------------------------------------------
# Bounds the operator sets for tenants' retention periods after closure (HinSchG § 11(5): 3).
RETENTION_MIN_YEARS = env.integer("RETENTION_MIN_YEARS", 1, minimum=0)
RETENTION_MAX_YEARS = env.integer("RETENTION_MAX_YEARS", 10, minimum=1)
# The largest "all files of one report" a tenant admin may set (console tenant settings); the
# largest single file is bounded by WHISTLE_MAX_FILE_MB.
TENANT_MAX_CASE_MB = env.integer("TENANT_MAX_CASE_MB", 2000, minimum=1)
# A stored file with neither an attachment row nor a pending-upload row (intake.PendingUpload)
# is removed by the orphan purge once its last write is this many minutes old: what a killed
# process left behind. Each file's row is inserted as soon as the file is complete, so this
# only has to exceed one insert (with a busy database); a file still being written is never
# old, as every write renews its modification time.
ORPHAN_FILE_MINUTES = env.integer("ORPHAN_FILE_MINUTES", 10, minimum=2)

# --- documents for tenants (console/documents_views.py; docs/onboarding.md) -------------------
# Accessibility feedback (intake.AccessibilityFeedback) is deleted this many days after it
# arrived, by the daily job below; at most this many messages per tenant and hour are taken.
ACCESSIBILITY_FEEDBACK_DAYS = env.integer("ACCESSIBILITY_FEEDBACK_DAYS", 365, minimum=1)
ACCESSIBILITY_FEEDBACK_PER_TENANT_HOUR = env.integer(
    "ACCESSIBILITY_FEEDBACK_PER_TENANT_HOUR", 30, minimum=1
)
# The operator as processor (GDPR Art. 28) in the compliance pack, and its sub-processors:
# SUBPROCESSORS is a list separated by ";" (each entry: name, address, what it does).
OPERATOR_NAME = env.string("OPERATOR_NAME", "")
OPERATOR_ADDRESS = env.string("OPERATOR_ADDRESS", "")
OPERATOR_PRIVACY_CONTACT = env.string("OPERATOR_PRIVACY_CONTACT", "")
SUBPROCESSORS = [s.strip() for s in env.string("SUBPROCESSORS", "").split(";") if s.strip()]

# --- key material (docs/crypto.md) ----------------------------------------------------------
# The receipt pepper is the key of the HMAC step before Argon2id for receipt-derived keys
# (older wraps: Argon2id's secret input; docs/crypto.md): a stolen database without it cannot
# test receipt guesses at all. Losing it makes every receipt useless.
if QUICKSTART:
    RECEIPT_PEPPER = env.string("RECEIPT_PEPPER") or _generated_secret("receipt_pepper")
else:
    RECEIPT_PEPPER = env.string("RECEIPT_PEPPER", required=True)
    if len(RECEIPT_PEPPER) < 32:
        raise ImproperlyConfigured("RECEIPT_PEPPER must be at least 32 random characters.")
# Argon2id cost for handler passwords and receipts (crypto.PRODUCTION_PARAMS: 128 MiB, t=3).
WHISTLE_KDF_PARAMS = "production"
# At most this many Argon2id runs at once per process; further ones wait up to the timeout and
# then get "busy, try again" (HTTP 503).
ARGON2_MAX_CONCURRENT = env.integer("ARGON2_MAX_CONCURRENT", 2, minimum=1)
ARGON2_SLOT_TIMEOUT = env.integer("ARGON2_SLOT_TIMEOUT", 5, minimum=0)
# The per-session key of the session vault lives in this cookie (HttpOnly, SameSite=Strict).
VAULT_COOKIE_NAME = "whistle_vault"
