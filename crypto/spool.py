"""A temporary file that holds only ciphertext, under a key that lives only in the object.

:class:`EncryptedSpool` replaces ``tempfile.SpooledTemporaryFile`` wherever Whistle buffers
data it has not yet encrypted under a case key: the request body that Django's ASGI handler
reads before any view runs (DESIGN §8) and an upload waiting to be cleaned of metadata. A
copy of the disk or of ``/tmp`` then reveals nothing: the key dies with the object (threat
model point 1; point 5 still applies to the running process).

Format (never stored beyond the object's life; see docs/crypto.md, suite ``0x60``)::

    key     = 32 random bytes from secrets, per spool, only in the object
    chunk_i = AES-256-GCM(key, nonce_i, plain_i, aad_i)         chunk_size + 16 bytes
                                                                 (the last may be shorter)
    nonce_i = i (uint96 BE)
    aad_i   = 0x01 | 0x60 | spool_id (16 random bytes) | i (uint64 BE) | 0x01 if last else 0x00

Every plaintext chunk but the last is exactly ``chunk_size`` bytes, so chunk ``i`` starts at
``i * (chunk_size + 16)`` and any byte can be read by decrypting one chunk. The plaintext
length is kept in the object, never read back from the backing store.
"""

from __future__ import annotations

import io
import secrets
import tempfile
from collections.abc import Iterator
from typing import IO, NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto._common import KEY_LEN, NONCE_LEN, TAG_LEN, header
from crypto.errors import DecryptionError
from crypto.streams import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE

#: Suite id of the spool's chunks (authenticated in every AAD, never written out).
SUITE_SPOOL = 0x60
ID_LEN = 16
DEFAULT_MAX_MEMORY = 1024 * 1024


class EncryptedSpool(io.BufferedIOBase):
    """Binary temporary file: write sequentially, then read and seek at random.

    Write phase: :meth:`write` appends; at most one plaintext chunk is buffered, every full
    chunk is sealed at once. The first :meth:`seek`, :meth:`read` (or any read method) seals
    the last chunk and ends the write phase for good: later writes raise
    ``io.UnsupportedOperation``. This is the order Django's ASGI handler uses (write the body,
    ``seek(0)``, read). :meth:`tell` and :attr:`size` work in both phases.

    Read phase: reads decrypt only the chunks they touch and keep the current one in a
    one-chunk cache, so memory stays around two chunks whatever the size. Ciphertext sits in
    memory up to ``max_memory`` bytes, then in an anonymous ``tempfile.TemporaryFile``.

    Args:
        chunk_size: plaintext bytes per sealed chunk (1 KiB to 4 MiB).
        max_memory: ciphertext bytes kept in memory before rolling over to disk; 0 means
            disk from the start.
        dir: directory of the temporary file (``tempfile``'s default if None).

    Raises (from reads):
        DecryptionError: the backing ciphertext was modified, reordered or truncated.

    Not thread-safe. ``fileno()`` and ``truncate()`` raise ``io.UnsupportedOperation``: the
    backing file holds ciphertext and must never be handed out as if it were the content.
    """

    _aead: AESGCM | None = None  # also what close() checks if __init__ failed

    def __init__(
        self,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_memory: int = DEFAULT_MAX_MEMORY,
        dir: str | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(chunk_size, int) or not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk_size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE}")
        if not isinstance(max_memory, int) or max_memory < 0:
            raise ValueError("max_memory must be a non-negative integer")
        self._chunk_size = chunk_size
        self._max_memory = max_memory
        self._dir = dir
        self._store: IO[bytes] = self._disk_file() if max_memory == 0 else io.BytesIO()
        self._key: bytes | None = secrets.token_bytes(KEY_LEN)
        self._aead = AESGCM(self._key)
        self._aad_prefix = header(SUITE_SPOOL) + secrets.token_bytes(ID_LEN)
        self._pending = bytearray()  # plaintext not yet sealed, at most one chunk
        self._sealed = 0  # number of chunks written to the store
        self._size = 0
        self._writing = True
        self._pos = 0
        self._cache_index, self._cache = -1, b""

    def __repr__(self) -> str:
        state = "closed" if self.closed else "writing" if self._writing else "reading"
        on_disk = not isinstance(self._store, io.BytesIO)
        return f"<EncryptedSpool {state} size={self._size} on_disk={on_disk}>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("EncryptedSpool cannot be pickled or copied")

    @property
    def size(self) -> int:
        """Plaintext length in bytes (everything written so far)."""
        return self._size

    def _check_open(self) -> AESGCM:
        if self._aead is None or self.closed:
            raise ValueError("I/O operation on closed file.")
        return self._aead

    def readable(self) -> bool:
        """True while open (reading ends the write phase)."""
        self._check_open()
        return True

    def writable(self) -> bool:
        """True only during the write phase."""
        self._check_open()
        return self._writing

    def seekable(self) -> bool:
        """True while open (seeking ends the write phase)."""
        self._check_open()
        return True

    def fileno(self) -> int:
        """Always raise: the descriptor would give the ciphertext, not the content."""
        raise io.UnsupportedOperation("EncryptedSpool has no file descriptor")

    def truncate(self, size: int | None = None) -> int:
        """Always raise: a spool only grows during its write phase."""
        raise io.UnsupportedOperation("EncryptedSpool cannot be truncated")

    def close(self) -> None:
        """Drop the key, the buffers and the backing file (its ciphertext becomes noise)."""
        if self._aead is not None:
            self._aead = self._key = None
            self._pending = bytearray()
            self._cache, self._cache_index = b"", -1
            self._store.close()
        super().close()

    # -- write phase -------------------------------------------------------------------------

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        """Append ``b``; return its length. Only allowed before the first read or seek."""
        aead = self._check_open()
        if not self._writing:
            raise io.UnsupportedOperation("EncryptedSpool is read-only after a read or seek")
        view = memoryview(b).cast("B")
        total, pos, size = len(view), 0, self._chunk_size
        pending = self._pending
        if pending:
            pos = min(size - len(pending), total)
            pending += view[:pos]
            if len(pending) == size and pos < total:  # more follows: it is not the last chunk
                self._seal(aead, pending, final=False)
                pending.clear()
        while total - pos > size:  # the last full chunk waits: it may be the final one
            self._seal(aead, view[pos : pos + size], final=False)
            pos += size
        pending += view[pos:]
        self._size += total
        return total

    def _seal(self, aead: AESGCM, plain: bytes | bytearray | memoryview, *, final: bool) -> None:
        index = self._sealed
        store = self._store
        store.write(aead.encrypt(_nonce(index), plain, self._aad(index, final)))
        self._sealed = index + 1
        if isinstance(store, io.BytesIO) and store.tell() > self._max_memory:
            disk = self._disk_file()
            with store.getbuffer() as ciphertext:
                disk.write(ciphertext)
            store.close()
            self._store = disk

    def _disk_file(self) -> IO[bytes]:
        # Anonymous (unlinked at once, O_TMPFILE on Linux); closed by close() or by GC.
        return tempfile.TemporaryFile(dir=self._dir)

    def _aad(self, index: int, final: bool) -> bytes:
        return self._aad_prefix + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")

    def _end_writing(self) -> AESGCM:
        aead = self._check_open()
        if self._writing:
            if self._pending:
                self._seal(aead, self._pending, final=True)
            self._pending = bytearray()
            self._writing = False
        return aead

    # -- read phase --------------------------------------------------------------------------

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` from start, current position or end; return the new position.

        As ``io.BytesIO``: a negative absolute offset raises ValueError, a relative seek to
        before the start stops at 0, a position past the end reads as end of file.
        """
        self._end_writing()
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence ({whence!r})")
        if whence == io.SEEK_SET and offset < 0:
            raise ValueError(f"negative seek value {offset}")
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        """Current position (the end of the data during the write phase)."""
        self._check_open()
        return self._size if self._writing else self._pos

    def _chunk(self, aead: AESGCM, index: int) -> bytes:
        """Return the plaintext of chunk ``index``, decrypting and caching it if needed."""
        if index != self._cache_index:
            last = (self._size - 1) // self._chunk_size
            length = self._size - index * self._chunk_size if index == last else self._chunk_size
            self._store.seek(index * (self._chunk_size + TAG_LEN))
            sealed = self._store.read(length + TAG_LEN)
            if len(sealed) != length + TAG_LEN:
                raise DecryptionError("spool truncated")
            try:
                self._cache = aead.decrypt(_nonce(index), sealed, self._aad(index, index == last))
            except InvalidTag:
                raise DecryptionError("spool chunk failed authentication") from None
            self._cache_index = index
        return self._cache

    def _pieces(self, limit: int, *, stop_at_newline: bool = False) -> Iterator[bytes]:
        """Yield up to ``limit`` bytes from the position on, advancing it chunk by chunk."""
        aead = self._end_writing()
        end = min(self._size, self._pos + limit)
        while self._pos < end:
            index, start = divmod(self._pos, self._chunk_size)
            plain = self._chunk(aead, index)
            stop = min(len(plain), start + end - self._pos)
            if stop_at_newline and (newline := plain.find(b"\n", start, stop)) >= 0:
                stop = newline + 1
                end = 0
            self._pos += stop - start
            yield plain if start == 0 and stop == len(plain) else plain[start:stop]

    def read(self, size: int | None = -1) -> bytes:
        """Read up to ``size`` bytes (all the rest if ``size`` is None or negative)."""
        limit = self._size if size is None or size < 0 else size
        return b"".join(self._pieces(limit))

    def read1(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes, from at most one chunk."""
        limit = self._size if size is None or size < 0 else size
        return next(self._pieces(limit), b"")

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Read into a writable buffer; return the number of bytes read (0 at end)."""
        view = memoryview(buffer).cast("B")
        done = 0
        for piece in self._pieces(len(view)):
            view[done : done + len(piece)] = piece
            done += len(piece)
        return done

    def readinto1(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Like :meth:`readinto`, from at most one chunk."""
        view = memoryview(buffer).cast("B")
        piece = self.read1(len(view))
        view[: len(piece)] = piece
        return len(piece)

    def readline(self, size: int | None = -1) -> bytes:
        """Read up to and including the next ``b"\\n"`` (or ``size`` bytes, or the end)."""
        limit = self._size if size is None or size < 0 else size
        return b"".join(self._pieces(limit, stop_at_newline=True))

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """Rewind and yield the content in pieces of ``chunk_size`` (default: one chunk).

        Same contract as Django's ``File.chunks()``; ``for line in spool`` yields lines.
        """
        self.seek(0)
        while data := self.read(chunk_size or self._chunk_size):
            yield data

    def _backing_for_tests(self) -> IO[bytes]:
        """Test-only: the backing file object (ciphertext), to inspect or tamper with it."""
        self._check_open()
        return self._store


def _nonce(index: int) -> bytes:
    return index.to_bytes(NONCE_LEN, "big")
