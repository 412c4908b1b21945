"""Request bodies and uploaded files never touch disk in plaintext (DESIGN §8, issue 4).

- ``WhistleASGIHandler`` replaces the ``SpooledTemporaryFile`` in which Django's ASGI handler
  buffers every request body with an ``EncryptedSpool`` (ephemeral in-memory key), and refuses
  bodies over ``WHISTLE_MAX_REQUEST_MB`` with a 413 page after draining them.
- ``EncryptedSpoolUploadHandler`` (the only upload handler) receives each file into its own
  ``EncryptedSpool``, so the view gets an ``UploadedFile`` whose content is readable and
  seekable but exists only encrypted; a file over the tenant's per-file limit is skipped and a
  message for the person is recorded on the request.
"""

from __future__ import annotations

import errno
import io
import logging
import os
from typing import IO, Any, cast

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponse, multipartparser
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from crypto import EncryptedSpool

PROBLEMS = "_upload_problems"
# A file's name travels in the headers of its part of the form. Django refuses a part whose
# headers exceed 1 KiB with a bare 400 page that loses everything typed on the step (issue 12,
# point 11: a 10,000-character name). 64 KiB holds any name a file system can store many times
# over; the scan stays linear in it and the request size is limited anyway. The name is then
# shortened (LONGEST_NAME) before anyone sees or stores it.
# (django-stubs does not declare the constant.)
setattr(  # noqa: B010
    multipartparser,
    "MAX_TOTAL_HEADER_SIZE",
    max(getattr(multipartparser, "MAX_TOTAL_HEADER_SIZE", 1024), 64 * 1024),
)
LONGEST_NAME = 120


def short_name(name: str) -> str:
    """``name`` cut to at most LONGEST_NAME characters, keeping a short extension."""
    if len(name) <= LONGEST_NAME:
        return name
    stem, extension = os.path.splitext(name)
    if len(extension) > 16:
        stem, extension = name, ""
    return stem[: LONGEST_NAME - 1 - len(extension)] + "…" + extension


# No room to write: no space left, quota exceeded, file too large for the file system.
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

logger = logging.getLogger(__name__)


def upload_problems(request: HttpRequest) -> list[str]:
    """Messages about files that were refused while the request was received."""
    problems: list[str] = getattr(request, PROBLEMS, [])
    return list(problems)


def _discard(spool: EncryptedSpool) -> None:
    """Close a spool whose disk is full: closing flushes the temporary file, which fails again
    (the descriptor is closed all the same); the second close finishes."""
    try:
        spool.close()
    except OSError:
        spool.close()


def add_upload_problem(request: HttpRequest | None, message: str) -> None:
    """Record a message about a file that was not added (too large, no room to store it)."""
    if request is None:
        return
    problems = getattr(request, PROBLEMS, None)
    if problems is None:
        problems = []
        setattr(request, PROBLEMS, problems)
    problems.append(message)


class EncryptedSpoolUploadHandler(FileUploadHandler):
    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.file_name = short_name(self.file_name or "")
        tenant = getattr(self.request, "tenant", None)
        megabytes = tenant.max_file_mb if tenant is not None else settings.WHISTLE_MAX_FILE_MB
        self.limit = megabytes * 1024 * 1024
        self.limit_mb = megabytes
        self.spool = EncryptedSpool()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > self.limit:
            self.spool.close()
            add_upload_problem(
                self.request,
                _("“%(name)s” was not added: a file may be at most %(mb)s MB.")
                % {"name": self.file_name, "mb": self.limit_mb},
            )
            raise SkipFile
        try:
            self.spool.write(raw_data)
        except OSError as error:
            if error.errno not in NO_ROOM:
                raise
            # The spool's temporary file found no room: skip this file, keep the rest.
            _discard(self.spool)
            logger.warning("upload not received: temporary storage full")
            add_upload_problem(
                self.request,
                _(
                    "“%(name)s” was not stored: there is no room for it at the moment. "
                    "Everything else was kept. Please try again later or send a smaller file."
                )
                % {"name": self.file_name},
            )
            raise SkipFile from None
        return None

    def file_complete(self, file_size: int) -> UploadedFile[Any]:
        self.spool.seek(0)
        return UploadedFile(
            file=cast(IO[Any], self.spool),
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )


class _TooLarge(EncryptedSpool):
    too_large = True


class _NoRoom(EncryptedSpool):
    no_room = True


class WhistleASGIHandler(ASGIHandler):
    async def read_body(self, receive: Any) -> Any:
        limit = settings.WHISTLE_MAX_REQUEST_MB * 1024 * 1024
        body_file: EncryptedSpool = EncryptedSpool()
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body_file.close()
                raise RequestAborted()
            if "body" in message:
                received += len(message["body"])
                if received > limit:
                    if not isinstance(body_file, _TooLarge):
                        body_file.close()
                        body_file = _TooLarge()
                    # Drain the rest so the browser gets our answer, keep nothing.
                elif not isinstance(body_file, _NoRoom):
                    try:
                        body_file.write(message["body"])
                    except OSError as error:
                        if error.errno not in NO_ROOM:
                            raise
                        # The temporary storage is full: drain the rest, keep nothing.
                        _discard(body_file)
                        body_file = _NoRoom()
                        logger.warning("request body not received: temporary storage full")
            if not message.get("more_body", False):
                break
        body_file.seek(0)
        return body_file

    def create_request(self, scope: Any, body_file: Any) -> Any:
        if getattr(body_file, "no_room", False):
            return None, self._no_room(scope)
        if getattr(body_file, "too_large", False):
            html = render_to_string(
                "whistle/too_large.html", {"mb": settings.WHISTLE_MAX_REQUEST_MB}
            )
            return None, HttpResponse(html, status=413)
        return super().create_request(scope, body_file)

    def _no_room(self, scope: Any) -> HttpResponse:
        """503 "try again later" for a body the temporary storage had no room for, in the
        person's language (read from the request's headers; no database is needed)."""
        request, _error = super().create_request(scope, io.BytesIO())
        language = (
            translation.get_language_from_request(request)
            if request is not None
            else settings.LANGUAGE_CODE
        )
        with translation.override(language):
            html = render_to_string("whistle/no_room.html", {"LANGUAGE_CODE": language})
        response = HttpResponse(html, status=503)
        response["Retry-After"] = "300"
        return response
