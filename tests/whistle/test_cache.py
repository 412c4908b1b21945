"""The Redis cache backend shares one client object per connection pool."""

from __future__ import annotations

from django.core.cache import cache, caches

from whistle.cache import SharedClientRedisCache


def test_values_round_trip_through_one_shared_client() -> None:
    backend = caches["default"]
    assert isinstance(backend, SharedClientRedisCache)
    assert cache.add("shared-client-test", {"n": 1}, timeout=10)
    assert not cache.add("shared-client-test", {"n": 2}, timeout=10)
    assert cache.get("shared-client-test") == {"n": 1}
    cache.delete("shared-client-test")
    assert cache.get("shared-client-test") is None
    # One client object for every call (Django's own backend builds one per call).
    client = backend._cache
    assert client.get_client(write=True) is client.get_client(write=False)
