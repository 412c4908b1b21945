"""Benchmark of the crypto library; prints figures for docs/performance.md.

Run by hand from the repository root (takes about a minute, writes ~1 GiB to a temporary file):

    .venv/bin/python bench/crypto.py            # or: .venv/bin/python -m bench.crypto

Only the Argon2id comparison (about 30 s; on a shared machine under ``flock /tmp/bench.lock``):

    flock /tmp/bench.lock .venv/bin/python bench/crypto.py --argon2 [--runs 7] [--tiny]

It times every Argon2id implementation available as a package at the production parameters
(128 MiB, t=3, p=1): ``cryptography`` (the KDF v1 that old wraps need), argon2-cffi (its
``hash_secret_raw`` and its raw ``argon2_ctx`` with the pepper as secret input ``K``, which
would have kept the v1 output), and libsodium through PyNaCl (KDF v2, what ``derive_key``
uses). For each: the median and minimum of ``--runs`` single runs, and the wall time of two
runs started at once in two threads (about one run's time if the implementation releases the
GIL and two cores are free; twice that if it holds the GIL). It also checks that all of them
give the same Argon2id output, and times candidate higher costs against the 200 ms target.
``--tiny`` uses 1 MiB, t=1 to check the script runs.

Targets: seal and open <= 1 ms each; streaming >= 500 MB/s each way with <= 16 MiB extra
memory; the receipt KDF (Argon2id with PRODUCTION_PARAMS) <= 200 ms.
"""

from __future__ import annotations

import argparse
import functools
import hmac
import io
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    # Run as a file, bench/ is first on sys.path and this very file would shadow the
    # ``crypto`` package: put the repository root in its place.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from crypto import (
    KDF_V1,
    KDF_V2,
    PRODUCTION_PARAMS,
    Argon2Params,
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


def _argon2_cffi_raw(password: bytes, salt: bytes, p: Argon2Params) -> bytes:
    from argon2.low_level import Type, hash_secret_raw

    return hash_secret_raw(password, salt, p.iterations, p.memory_kib, p.lanes, 32, Type.ID)


def _argon2_cffi_ctx(password: bytes, salt: bytes, pepper: bytes, p: Argon2Params) -> bytes:
    """argon2-cffi's raw ``argon2_ctx`` with the pepper as Argon2's secret input ``K`` (v1)."""
    from argon2.low_level import ARGON2_VERSION, Type, core, error_to_str, ffi

    out = ffi.new("uint8_t[]", 32)
    pwd, slt, key = (ffi.new("uint8_t[]", data) for data in (password, salt, pepper))
    ctx = ffi.new(
        "argon2_context *",
        {
            "out": out,
            "outlen": 32,
            "pwd": pwd,
            "pwdlen": len(password),
            "salt": slt,
            "saltlen": len(salt),
            "secret": key,
            "secretlen": len(pepper),
            "ad": ffi.NULL,
            "adlen": 0,
            "t_cost": p.iterations,
            "m_cost": p.memory_kib,
            "lanes": p.lanes,
            "threads": p.lanes,
            "version": ARGON2_VERSION,
            "allocate_cbk": ffi.NULL,
            "free_cbk": ffi.NULL,
            "flags": 0,
        },
    )
    error = core(ctx, Type.ID.value)
    if error:
        raise RuntimeError(error_to_str(error))
    return bytes(ffi.buffer(out, 32))


def _timed(fn: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """(median, min, two-threads wall) in milliseconds."""
    fn()  # warm up (first allocation, imports)
    single = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        single.append(time.perf_counter() - start)
    threads = [threading.Thread(target=fn) for _ in range(2)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    both = time.perf_counter() - start
    return statistics.median(single) * 1000, min(single) * 1000, both * 1000


def argon2_figures(params: Argon2Params, runs: int, candidates: list[Argon2Params]) -> None:
    """Compare the Argon2id implementations at ``params``; time candidate higher costs."""
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
    from nacl.bindings import crypto_pwhash_alg, crypto_pwhash_ALG_ARGON2ID13

    secret, salt, pepper = b"x" * 12, os.urandom(16), os.urandom(32)
    m, t, lanes = params.memory_kib, params.iterations, params.lanes

    def with_cryptography(k: bytes | None = None, password: bytes = secret) -> bytes:
        kdf = Argon2id(salt=salt, length=32, iterations=t, lanes=lanes, memory_cost=m, secret=k)
        return kdf.derive(password)

    def with_sodium(password: bytes = secret) -> bytes:
        alg = crypto_pwhash_ALG_ARGON2ID13
        return crypto_pwhash_alg(32, password, salt, t, m * 1024, alg)

    # Correctness first: one Argon2id, whichever library computes it.
    plain = with_cryptography()
    assert _argon2_cffi_raw(secret, salt, params) == plain, "argon2-cffi differs"
    assert with_sodium() == plain, "libsodium differs"
    assert _argon2_cffi_ctx(secret, salt, pepper, params) == with_cryptography(pepper), "K"
    v1 = derive_key(secret, salt=salt, params=params, pepper=pepper, version=KDF_V1)
    assert v1 == with_cryptography(pepper), "KDF v1 is cryptography's Argon2id with K"
    stretched = hmac.digest(pepper, b"whistle/argon2id/v2|" + secret, "sha256")
    v2 = derive_key(secret, salt=salt, params=params, pepper=pepper, version=KDF_V2)
    assert v2 == with_cryptography(password=stretched), "KDF v2 is HMAC then Argon2id"
    print(f"Argon2id m={m // 1024} MiB t={t} p={lanes}: all implementations agree")

    rows: list[tuple[str, Callable[[], object]]] = [
        ("cryptography (K = pepper)", lambda: with_cryptography(pepper)),
        ("argon2-cffi hash_secret_raw", lambda: _argon2_cffi_raw(secret, salt, params)),
        ("argon2-cffi argon2_ctx (K)", lambda: _argon2_cffi_ctx(secret, salt, pepper, params)),
        ("PyNaCl / libsodium", with_sodium),
        (
            "derive_key v1 (slot, K)",
            lambda: derive_key(secret, salt=salt, params=params, pepper=pepper, version=KDF_V1),
        ),
        (
            "derive_key v2 (slot, HMAC)",
            lambda: derive_key(secret, salt=salt, params=params, pepper=pepper),
        ),
    ]
    print(f"{'implementation':<30} {'median':>8} {'min':>8} {'2 threads':>10}  (ms)")
    for label, fn in rows:
        median, fastest, both = _timed(fn, runs)
        print(f"{label:<30} {median:>8.0f} {fastest:>8.0f} {both:>10.0f}")
    print("derive_key runs through the Argon2 slots (2 by default), so 2 threads fit at once.")
    print(f"{'candidate cost (KDF v2)':<30} {'median':>8} {'min':>8}")
    for cost in candidates:
        label = f"m={cost.memory_kib // 1024} MiB t={cost.iterations}"
        median, fastest, _both = _timed(
            functools.partial(derive_key, secret, salt=salt, params=cost), runs
        )
        verdict = "within" if median <= 200 else "over"
        print(f"{label:<30} {median:>8.0f} {fastest:>8.0f}   {verdict} the 200 ms target")


def argon2_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Argon2id implementations compared")
    parser.add_argument("--argon2", action="store_true")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tiny", action="store_true", help="1 MiB, t=1: checks the script")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    if args.tiny:
        argon2_figures(Argon2Params(memory_kib=1024, iterations=1, lanes=1), args.runs, [])
        return
    p = PRODUCTION_PARAMS
    candidates = [
        Argon2Params(memory_kib=p.memory_kib + 8 * 1024, iterations=p.iterations, lanes=1),
        Argon2Params(memory_kib=p.memory_kib, iterations=p.iterations + 1, lanes=1),
        Argon2Params(memory_kib=p.memory_kib * 3 // 2, iterations=2, lanes=1),
    ]
    argon2_figures(p, args.runs, candidates)


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
    argon2_figures(PRODUCTION_PARAMS, 5, [])


if __name__ == "__main__":
    if len(sys.argv) > 1:
        argon2_main(sys.argv[1:])
    else:
        main()
