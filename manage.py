#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

from __future__ import annotations

import os
import sys

SERVERS = {"serve", "runserver", "daphne", "uvicorn"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whistle.settings")
    from django.core.management import execute_from_command_line

    # Management commands are operator work: the narrow system principal of row-level security
    # (whistle/rls.py). Servers are not: each request, socket event and task sets its own.
    if len(sys.argv) > 1 and sys.argv[1] in SERVERS:
        execute_from_command_line(sys.argv)
        return
    from whistle import rls

    with rls.system():
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
