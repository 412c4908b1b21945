"""What the per-format cleaners hand back to :func:`intake.files.clean.clean`."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from intake.files.labels import Info

CHUNK = 1 << 20


class Source(Protocol):
    """What is cleaned: a readable, seekable binary file (``fileno()`` is never used).

    ``crypto.EncryptedSpool``, ``io.BytesIO`` and Django's uploaded files all qualify.
    """

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def tell(self) -> int: ...


class Destination(Protocol):
    """Where the result goes: only ``write`` is ever called, in order."""

    def write(self, data: bytes, /) -> int | None: ...


class Uncleanable(Exception):
    """The file is readable but cannot be cleaned; ``problem`` tells the reporter why."""

    def __init__(self, problem: StrOrPromise) -> None:
        super().__init__("file cannot be cleaned")
        self.problem = problem


def _nothing() -> None:
    return None


@dataclass
class Prepared:
    """A file that was parsed and cleaned, ready to be written out.

    Everything that can fail on hostile input happens before a :class:`Prepared` exists;
    ``write`` only emits the result (it may still raise if the destination fails).
    ``close`` releases what the cleaner holds, whether or not ``write`` ran. ``remaining``
    is what the cleaner saw but could not clean (files embedded in a document).
    """

    found: set[Info]
    write: Callable[[BinaryIO], None]
    close: Callable[[], None] = field(default=_nothing)
    remaining: set[Info] = field(default_factory=set)  # seen but left in place


def write_buffer(data: bytes | bytearray | memoryview, out: BinaryIO) -> None:
    """Write ``data`` to ``out`` in chunks (an encrypting writer need not take it in one go)."""
    view = memoryview(data)
    for start in range(0, len(view), CHUNK):
        out.write(view[start : start + CHUNK])


class CountingWriter(io.RawIOBase):
    """A write-only, unseekable view of ``dst`` that counts what went through.

    ``tell()`` answers from the count, so ``zipfile`` streams (with data descriptors) and
    ``pikepdf`` writes sequentially; ``seek()`` is refused so neither can go back. With
    ``dst=None`` everything is discarded: a dry run that only counts.
    """

    def __init__(self, dst: Destination | None = None) -> None:
        super().__init__()
        self._dst = dst
        self.count = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        raise io.UnsupportedOperation("the destination is written sequentially")

    def tell(self) -> int:
        return self.count

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        size = memoryview(b).nbytes
        data = b if isinstance(b, bytes) else bytes(b)
        while self._dst is not None and data:
            written = self._dst.write(data)
            if written is None or written >= len(data):  # a buffered writer takes it all
                break
            if written <= 0:
                raise OSError("the destination accepted nothing")
            data = data[written:]  # a raw writer may take less than it was given
        self.count += size
        return size

    def flush(self) -> None:
        flush = getattr(self._dst, "flush", None)
        if flush is not None:
            flush()
