from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with tiny work factors, for tests only."""

    time_cost = 1
    memory_cost = 256
    parallelism = 1
