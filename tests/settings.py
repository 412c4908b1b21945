"""Test settings: the production settings module, fed test values and cheap password hashing.

Everything else is whistle/settings.py as deployed; only work factors that would make the suite
slow are lowered here (the tests that check the real parameters use them explicitly).
"""

from __future__ import annotations

import os

os.environ.setdefault("WHISTLE_MODE", "test")
os.environ.setdefault("SECRET_KEY", "test-secret-key-3f9c1e0b7a5d4c2e8f6a9b1d0c3e5f7a9b2d4c6e8f0a")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/whistle")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("RECEIPT_PEPPER", "test-receipt-pepper-5c0f3b9e2a7d4e1f8b6c")

from whistle.settings import *  # noqa: F403
from whistle.settings import CONTENT_SECURITY_POLICY  # noqa: F401

PASSWORD_HASHERS = ["tests.hashers.CheapArgon2PasswordHasher"]
# Tests run tasks where they are sent (after commit), as the embedded default does.
CELERY_TASK_ALWAYS_EAGER = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Cheap Argon2id for wraps made in tests (tests/crypto checks the production parameters).
WHISTLE_KDF_PARAMS = "test"
# Servers started by tests in threads (ASGI, live server) must not keep connections open past
# their requests, or the test database cannot be dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Submission floods (intake/flood.py): no minimum draft age and a cheap proof of work for the
# journeys; tests/intake/test_flood.py sets the real values where it checks them.
INTAKE_MIN_STEP_SECONDS = 0
INTAKE_POW_BITS = 4
