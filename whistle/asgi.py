"""ASGI entry point: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whistle.settings")
django.setup(set_prefix=False)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from whistle.routing import websocket_urlpatterns  # noqa: E402
from whistle.uploads import WhistleASGIHandler  # noqa: E402
from whistle.ws import SameOriginTenantMiddleware  # noqa: E402

# What django.core.asgi.get_asgi_application() returns, but with our handler: its request-body
# spool is encrypted (whistle/uploads.py), Django's writes plaintext to a temporary file.
django_application = WhistleASGIHandler()

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": SameOriginTenantMiddleware(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
