"""EncryptedSpool: round trips, random access, real consumers, no plaintext at rest, tampering."""

from __future__ import annotations

import io
import itertools
import os
import pickle
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, cast

import pikepdf
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from crypto import DecryptionError, EncryptedSpool
from crypto.spool import ID_LEN

CS = 1024  # smallest chunk size: many chunk boundaries for little data
SEALED = CS + 16
SENTINEL = b"WHISTLE-SENTINEL-PLAINTEXT|"


def _spool(data: bytes, *, chunk_size: int = CS, max_memory: int = 1 << 20, **kw) -> EncryptedSpool:
    spool = EncryptedSpool(chunk_size=chunk_size, max_memory=max_memory, **kw)
    spool.write(data)
    spool.seek(0)
    return spool


def _ciphertext(spool: EncryptedSpool) -> bytes:
    backing = spool._backing_for_tests()
    backing.seek(0)
    return backing.read()


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("max_memory", [0, 3000, 1 << 20])
@pytest.mark.parametrize("size", [0, 1, CS - 1, CS, CS + 1, 2 * CS, 3 * CS + 7])
def test_round_trip_sizes(size: int, max_memory: int) -> None:
    data = os.urandom(size)
    with _spool(data, max_memory=max_memory) as spool:
        assert spool.size == size
        assert spool.read() == data
        assert spool.read() == b""
        assert spool.tell() == size
        assert len(_ciphertext(spool)) == size + 16 * -(-size // CS)


def test_round_trip_several_megabytes_default_chunk() -> None:
    data = os.urandom(5 * 1024 * 1024 + 12345)
    with EncryptedSpool() as spool:
        for start in range(0, len(data), 100_000):
            spool.write(memoryview(data)[start : start + 100_000])
        assert spool.tell() == len(data)
        assert spool.seek(0) == 0
        assert spool.read() == data
        assert not isinstance(spool._backing_for_tests(), io.BytesIO)  # rolled over at 1 MiB


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=5 * CS),
    cuts=st.lists(st.integers(min_value=0, max_value=5 * CS), max_size=12),
    max_memory=st.sampled_from([0, 2 * SEALED, 1 << 20]),
)
def test_round_trip_any_write_slicing(data: bytes, cuts: list[int], max_memory: int) -> None:
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    with EncryptedSpool(chunk_size=CS, max_memory=max_memory) as spool:
        assert spool.writable()
        for start, stop in itertools.pairwise(bounds):
            assert spool.write(bytearray(data[start:stop])) == stop - start
            assert spool.tell() == spool.size == stop
        assert b"".join(spool.chunks()) == data
        assert not spool.writable()


# -- random access ---------------------------------------------------------------------------

OPS = st.one_of(
    st.tuples(st.just("seek"), st.integers(-6 * CS, 6 * CS), st.sampled_from([0, 1, 2])),
    st.tuples(st.just("read"), st.integers(-1, 3 * CS)),
    st.tuples(st.just("read1"), st.integers(-1, 3 * CS)),
    st.tuples(st.just("readinto"), st.integers(0, 3 * CS)),
    st.tuples(st.just("readline"), st.integers(-1, 3 * CS)),
    st.tuples(st.just("tell")),
)


def _apply(f: io.BufferedIOBase, op: tuple[Any, ...]) -> object:
    name, *args = op
    try:
        if name == "readinto":
            buf = bytearray(args[0])
            n = f.readinto(buf)
            return bytes(buf[:n])
        if name == "read1":  # may return less than asked, never more, never 0 before the end
            return ("read1", f.read1(args[0]), f.tell())
        return getattr(f, name)(*args)
    except ValueError as exc:
        return type(exc)


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=5 * CS).map(lambda b: b.replace(b"\x00", b"\n")),
    ops=st.lists(OPS, max_size=25),
)
def test_random_access_matches_bytesio(data: bytes, ops: list[tuple[Any, ...]]) -> None:
    reference = io.BytesIO(data)
    with _spool(data, max_memory=3 * SEALED) as spool:
        for op in ops:
            got, want = _apply(spool, op), _apply(reference, op)
            if op[0] == "read1":
                assert isinstance(got, tuple) and isinstance(want, tuple)
                piece, pos = got[1], got[2]
                start = pos - len(piece)
                assert data[start:pos] == piece
                assert piece or start >= len(data) or op[1] == 0
                reference.seek(pos)
            else:
                assert got == want, op
            assert spool.tell() == reference.tell()


def test_lines_iteration_and_chunks() -> None:
    data = b"".join(b"line %d " % i + b"x" * (i * 37 % 3000) + b"\n" for i in range(40)) + b"tail"
    with _spool(data) as spool:
        assert list(spool) == data.splitlines(keepends=True)
        assert [len(c) for c in spool.chunks(4000)][:-1] == [4000] * (len(data) // 4000)
        assert b"".join(spool.chunks()) == data
        spool.seek(-4, io.SEEK_END)
        assert spool.readline() == b"tail"


def test_django_asgi_sequence() -> None:
    """What ASGIHandler.read_body and HttpRequest.body do with the spooled body."""
    body = os.urandom(300_000)
    spool = EncryptedSpool(max_memory=100_000)
    for start in range(0, len(body), 65_536):  # http.request messages
        spool.write(body[start : start + 65_536])
    spool.seek(0)
    assert spool.seekable()
    assert spool.seek(0, os.SEEK_END) == len(body)
    spool.seek(0)
    assert spool.read(len(body) + 1) == body
    spool.close()
    assert spool.closed


# -- file-object contract --------------------------------------------------------------------


def test_write_phase_ends_on_first_read_or_seek() -> None:
    enders: list[Callable[[EncryptedSpool], object]] = [
        lambda s: s.seek(0),
        lambda s: s.read(0),
        lambda s: s.readline(),
    ]
    for end_writing in enders:
        spool = EncryptedSpool(chunk_size=CS)
        spool.write(b"abc")
        assert spool.tell() == 3
        end_writing(spool)
        assert not spool.writable()
        with pytest.raises(io.UnsupportedOperation):
            spool.write(b"d")
        spool.seek(0)
        assert spool.read() == b"abc"
        spool.close()


def test_unsupported_and_closed() -> None:
    spool = _spool(b"secret content")
    with pytest.raises(io.UnsupportedOperation):
        spool.fileno()
    with pytest.raises(io.UnsupportedOperation):
        spool.truncate(0)
    with pytest.raises(ValueError, match="whence"):
        spool.seek(0, 3)
    with pytest.raises(ValueError, match="negative"):
        spool.seek(-1)
    assert spool.seek(100) == 100 and spool.read() == b""
    with pytest.raises(TypeError):
        pickle.dumps(spool)
    assert spool._key is not None
    assert spool._key.hex() not in repr(spool) and "secret" not in repr(spool)
    with spool:
        pass
    assert spool.closed and spool._key is None
    for op in (spool.read, spool.tell, spool.readable, lambda: spool.write(b"x")):
        with pytest.raises(ValueError, match="closed"):
            op()
    spool.close()  # idempotent


@pytest.mark.parametrize("kwargs", [{"chunk_size": 0}, {"chunk_size": 8 << 20}, {"max_memory": -1}])
def test_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        EncryptedSpool(**kwargs)


def test_decryption_error_is_not_oserror() -> None:
    # Django turns OSError while reading a body into UnreadablePostError: tampering must not
    # pass for a client disconnect.
    assert not issubclass(DecryptionError, OSError)


# -- real consumers --------------------------------------------------------------------------


def test_zipfile_reads_from_spool() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.txt", "Beweise " * 2000)
        archive.writestr("data.bin", os.urandom(50_000))
    with (
        _spool(out.getvalue(), max_memory=0) as spool,
        zipfile.ZipFile(cast(BinaryIO, spool)) as archive,
    ):
        assert archive.testzip() is None
        assert archive.read("report.txt") == ("Beweise " * 2000).encode()
        assert len(archive.read("data.bin")) == 50_000


def test_zipfile_rejects_tiny_non_zip() -> None:
    # zipfile seeks 22 bytes before the end: must clamp like BytesIO, not raise ValueError.
    with _spool(b"not a zip") as spool, pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(cast(BinaryIO, spool))


def test_pillow_opens_png_from_spool() -> None:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (12, 200, 34)).save(out, "PNG")
    with _spool(out.getvalue()) as spool, Image.open(cast(BinaryIO, spool)) as image:
        image.load()
        assert image.format == "PNG" and image.size == (320, 200)
        assert image.getpixel((7, 9)) == (12, 200, 34)


def test_pikepdf_opens_pdf_from_spool() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo["/Author"] = "Jane Reporter"
    out = io.BytesIO()
    pdf.save(out)
    with _spool(out.getvalue()) as spool, pikepdf.open(cast(BinaryIO, spool)) as opened:
        assert len(opened.pages) == 1
        assert str(opened.docinfo["/Author"]) == "Jane Reporter"


# -- what is at rest -------------------------------------------------------------------------


def test_format_matches_documented_layout() -> None:
    data = os.urandom(2 * CS + 100)
    with _spool(data) as spool:
        blob, key = _ciphertext(spool), spool._key
        assert key is not None
        prefix = spool._aad_prefix
        assert prefix[:2] == b"\x01\x60" and len(prefix) == 2 + ID_LEN
        chunks = [blob[i : i + SEALED] for i in range(0, len(blob), SEALED)]
        assert [len(c) for c in chunks] == [SEALED, SEALED, 100 + 16]
        plain = b"".join(
            AESGCM(key).decrypt(
                i.to_bytes(12, "big"),
                chunk,
                prefix + i.to_bytes(8, "big") + (b"\x01" if i == 2 else b"\x00"),
            )
            for i, chunk in enumerate(chunks)
        )
        assert plain == data


@pytest.mark.parametrize("max_memory", [0, 5 * SEALED])
def test_no_plaintext_or_key_on_disk(tmp_path: Path, max_memory: int) -> None:
    payload = (SENTINEL + os.urandom(40)) * 500  # ~33 KiB, a sentinel in every chunk
    spool = EncryptedSpool(chunk_size=CS, max_memory=max_memory, dir=str(tmp_path))
    for start in range(0, len(payload), 777):
        spool.write(payload[start : start + 777])
    spool.seek(0)
    assert spool.read(len(SENTINEL)) == SENTINEL  # the read path caches plaintext in memory only
    backing = spool._backing_for_tests()
    assert not isinstance(backing, io.BytesIO)
    backing.flush()
    # Anonymous file in dir: nothing to find by name, but the kernel still has its bytes.
    assert list(tmp_path.rglob("*")) == []
    proc_path = f"/proc/self/fd/{backing.fileno()}"
    assert os.readlink(proc_path).startswith(str(tmp_path))
    on_disk = Path(proc_path).read_bytes()
    assert len(on_disk) == len(payload) + 16 * -(-len(payload) // CS)
    assert on_disk == _ciphertext(spool)
    assert SENTINEL not in on_disk and SENTINEL[:8] not in on_disk
    assert all(payload[i : i + 16] not in on_disk for i in range(0, len(payload), 997))
    assert spool._key is not None and spool._key not in on_disk
    spool.close()
    assert backing.closed


def test_in_memory_ciphertext_has_no_plaintext() -> None:
    payload = SENTINEL * 100
    with _spool(payload) as spool:
        backing = spool._backing_for_tests()
        assert isinstance(backing, io.BytesIO)
        assert SENTINEL not in backing.getvalue()


# -- tampering -------------------------------------------------------------------------------

TAMPER_DATA = os.urandom(3 * CS + 500)


def _tampered(edit, max_memory: int = 0) -> EncryptedSpool:
    spool = _spool(TAMPER_DATA, max_memory=max_memory)
    backing = spool._backing_for_tests()
    edit(backing)
    backing.flush()
    spool.seek(0)
    return spool


@settings(max_examples=40, deadline=None)
@given(
    index=st.integers(0, 3 * SEALED + 500 + 16 - 1),
    mask=st.integers(1, 255),
    max_memory=st.sampled_from([0, 1 << 20]),
)
def test_flipped_byte_fails(index: int, mask: int, max_memory: int) -> None:
    def flip(backing) -> None:
        backing.seek(index)
        byte = backing.read(1)[0]
        backing.seek(index)
        backing.write(bytes([byte ^ mask]))

    with _tampered(flip, max_memory) as spool:
        with pytest.raises(DecryptionError):
            spool.read()
        # Only the chunk holding the flipped byte is refused.
        spool.seek((index // SEALED) * CS)
        with pytest.raises(DecryptionError):
            spool.read(1)


def test_swapped_chunks_fail() -> None:
    def swap(backing) -> None:
        backing.seek(0)
        first, second = backing.read(SEALED), backing.read(SEALED)
        backing.seek(0)
        backing.write(second + first)

    with _tampered(swap) as spool:
        with pytest.raises(DecryptionError):
            spool.read(1)
        spool.seek(2 * CS)
        assert spool.read() == TAMPER_DATA[2 * CS :]  # untouched chunks still open


@pytest.mark.parametrize("cut", [1, 16, 500 + 16, 500 + 16 + 1, SEALED + 516])
def test_truncated_backing_fails(cut: int) -> None:
    def truncate(backing) -> None:
        backing.truncate(3 * SEALED + 500 + 16 - cut)

    with _tampered(truncate) as spool, pytest.raises(DecryptionError):
        spool.read()


def test_chunk_from_another_spool_fails() -> None:
    other = _spool(TAMPER_DATA, max_memory=0)
    foreign = _ciphertext(other)
    other.close()

    def transplant(backing) -> None:
        backing.seek(SEALED)
        backing.write(foreign[SEALED : 2 * SEALED])

    with _tampered(transplant) as spool:
        assert spool.read(CS) == TAMPER_DATA[:CS]
        with pytest.raises(DecryptionError):
            spool.read(1)


# -- memory ----------------------------------------------------------------------------------


def test_constant_memory_for_64_mib() -> None:
    block = os.urandom(64 * 1024)
    spool = EncryptedSpool(max_memory=256 * 1024)
    tracemalloc.start()
    try:
        for _ in range(1024):
            spool.write(block)
        spool.seek(0)
        assert spool.size == 64 * 1024 * 1024
        for _ in range(1024):
            assert spool.read(64 * 1024) == block
        assert spool.read(1) == b""
        spool.seek(-100, io.SEEK_END)
        assert spool.read() == block[-100:]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        spool.close()
    assert peak < 4 * 1024 * 1024
