"""Reading configuration from environment variables, failing closed.

Every setting comes from the environment (DESIGN §7). A value that is present but malformed
stops start-up with an :class:`ImproperlyConfigured` error naming the variable; a value that is
mandatory in production and missing does the same. Secrets may be given as ``NAME_FILE`` (a path
whose content is the value), which is how container orchestrators hand them over.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Env:
    """Typed access to a mapping of environment variables."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def raw(self, name: str) -> str | None:
        """The value of ``name``, or of the file named by ``NAME_FILE``; None when unset."""
        value = self._environ.get(name)
        file_name = self._environ.get(f"{name}_FILE")
        if value is not None and file_name is not None:
            raise ImproperlyConfigured(f"Set either {name} or {name}_FILE, not both.")
        if file_name is not None:
            try:
                return Path(file_name).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ImproperlyConfigured(
                    f"{name}_FILE names a file that cannot be read ({exc.strerror})."
                ) from None
        return value

    def string(self, name: str, default: str | None = None, *, required: bool = False) -> str:
        value = self.raw(name)
        if value is None or value == "":
            if required:
                raise ImproperlyConfigured(f"{name} must be set.")
            if default is None:
                return ""
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        try:
            number = int(value.strip())
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
        if minimum is not None and number < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}.")
        return number

    def items(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self.raw(name)
        if value is None:
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.string(name, default)
        if value not in choices:
            allowed = ", ".join(choices)
            raise ImproperlyConfigured(f"{name} must be one of {allowed}, not {value!r}.")
        return value
