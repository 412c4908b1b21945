"""Container health check: GET /healthz of the local `manage.py serve` (the image's HEALTHCHECK).

Standard library only (the image has no curl). The request names the service's first
ALLOWED_HOSTS entry as its host and says it came through HTTPS, as the reverse proxy would:
any other host gets the neutral 404 and plain HTTP the redirect to HTTPS. Exit status 0 when
the answer is 200, 1 otherwise (refused, timed out, redirected, any other status).

Usage: python deploy/healthcheck.py [URL]   (default http://127.0.0.1:8000/healthz)
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping

DEFAULT_URL = "http://127.0.0.1:8000/healthz"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect is an answer other than 200: unhealthy


def probe_headers(environ: Mapping[str, str]) -> dict[str, str]:
    """The headers the check sends: the first ALLOWED_HOSTS entry as Host (none when unset),
    and X-Forwarded-Proto as the proxy sets it (tests/deploy/test_consistency.py checks them
    against the compose and Kubernetes settings)."""
    hosts = [h.strip() for h in environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    headers = {"X-Forwarded-Proto": "https"}
    if hosts:
        headers["Host"] = hosts[0]
    return headers


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else DEFAULT_URL
    if not url.startswith("http://"):
        print("healthcheck: only http:// URLs", file=sys.stderr)  # noqa: T201
        return 1
    headers = probe_headers(os.environ)
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http:// checked)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=5) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"healthcheck: {type(exc).__name__}", file=sys.stderr)  # noqa: T201
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
