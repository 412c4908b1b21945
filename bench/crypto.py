"""Benchmark of the crypto library; prints figures for docs/performance.md.

Run by hand from the repository root (takes about a minute, writes ~1 GiB to a temporary file):

    .venv/bin/python bench/crypto.py            # or: .venv/bin/python -m bench.crypto

Targets: seal and open <= 1 ms each; streaming >= 500 MB/s each way with <= 16 MiB extra
memory; Argon2id with PRODUCTION_PARAMS about 0.25 s.
"""

from __future__ import annotations

import io
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    # Run as a file, bench/ is first on sys.path and this very file would shadow the
    # ``crypto`` package: put the repository root in its place.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from crypto import (
    PRODUCTION_PARAMS,
    RecordContext,
    decrypt_record,
    decrypt_stream,
    derive_key,
    encrypt_record,
    encrypt_stream,
    generate_keypair,
    seal,
    unseal,
)

STREAM_BYTES = 1 << 30
CTX = b"whistle/attachment/v1|bench"


class RepeatingSource(io.RawIOBase):
    """``total`` bytes generated on the fly from one 1 MiB buffer."""

    def __init__(self, total: int) -> None:
        self._left = total
        self._buffer = os.urandom(1 << 20)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = min(self._left, len(self._buffer) if size < 0 else size, len(self._buffer))
        self._left -= size
        return self._buffer[:size]


class NullSink(io.RawIOBase):
    """Discards everything written."""

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return len(data)


def rate(label: str, fn: Callable[[], object], count: int) -> float:
    """Run ``fn`` ``count`` times; print and return milliseconds per call."""
    fn()
    start = time.perf_counter()
    for _ in range(count):
        fn()
    elapsed = time.perf_counter() - start
    per_call_ms = elapsed / count * 1000
    print(f"{label:<34} {count / elapsed:>12,.0f} /s {per_call_ms:>10.4f} ms")
    return per_call_ms


def maxrss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stream_figures(key: bytes) -> None:
    """1 GiB through encrypt (to a null sink, then to a file) and decrypt (file to null)."""
    start = time.perf_counter()
    encrypt_stream(key, RepeatingSource(STREAM_BYTES), NullSink(), context=CTX)  # type: ignore[arg-type]
    enc = STREAM_BYTES / (time.perf_counter() - start) / 1e6
    print(f"{'stream encrypt 1 GiB -> null':<34} {enc:>12,.0f} MB/s")

    with tempfile.TemporaryFile() as stored:
        source = RepeatingSource(STREAM_BYTES)  # its own 1 MiB buffer is not the library's
        rss_before = maxrss_mib()
        tracemalloc.start()
        encrypt_stream(key, source, stored, context=CTX)  # type: ignore[arg-type]
        _, enc_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        stored.seek(0)
        start = time.perf_counter()
        decrypt_stream(key, stored, NullSink(), context=CTX)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        _, dec_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_growth = maxrss_mib() - rss_before
    # Decryption was timed under tracemalloc; time it again without for the throughput figure.
    with tempfile.TemporaryFile() as stored:
        encrypt_stream(key, RepeatingSource(STREAM_BYTES), stored, context=CTX)  # type: ignore[arg-type]
        stored.seek(0)
        start = time.perf_counter()
        decrypt_stream(key, stored, NullSink(), context=CTX)  # type: ignore[arg-type]
        dec = STREAM_BYTES / (time.perf_counter() - start) / 1e6
    print(f"{'stream decrypt 1 GiB file -> null':<34} {dec:>12,.0f} MB/s")
    print(f"{'  (decrypt under tracemalloc)':<34} {STREAM_BYTES / elapsed / 1e6:>12,.0f} MB/s")
    print(f"{'stream encrypt peak (tracemalloc)':<34} {enc_peak / 1024:>12,.0f} KiB")
    print(f"{'stream decrypt peak (tracemalloc)':<34} {dec_peak / 1024:>12,.0f} KiB")
    print(f"{'max RSS growth during both':<34} {rss_growth:>12,.1f} MiB")


def main() -> None:
    """Print every figure."""
    pair = generate_keypair()
    key = os.urandom(32)
    info = b"whistle/case-key/v1|tenant=bench|case=bench"
    sealed = seal(pair.public, key, info=info)
    context = RecordContext(tenant="t", case="c", kind="message", record_id="m")
    message = os.urandom(1024)
    record = encrypt_record(key, message, context=context)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    rate("generate_keypair", generate_keypair, 2000)
    rate("seal 32-byte key", lambda: seal(pair.public, key, info=info), 5000)
    rate("unseal 32-byte key", lambda: unseal(pair.private, sealed, info=info), 5000)
    rate("encrypt_record 1 KiB", lambda: encrypt_record(key, message, context=context), 50000)
    rate("decrypt_record 1 KiB", lambda: decrypt_record(key, record, context=context), 50000)
    stream_figures(key)
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        derive_key(b"password", salt=os.urandom(16), params=PRODUCTION_PARAMS)
        timings.append(time.perf_counter() - start)
    timings.sort()
    p = PRODUCTION_PARAMS
    label = f"Argon2id m={p.memory_kib // 1024} MiB t={p.iterations} p={p.lanes}"
    print(f"{label:<34} median {timings[2] * 1000:.0f} ms (min {timings[0] * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
