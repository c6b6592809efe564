"""Receive one uploaded return: the one home for the upload page and the JSON API.

The size is checked from the request's Content-Length before a byte of the body is read; the
file is streamed to a temporary folder inside the collection folder (never into memory whole,
never into a shared system folder), handed to :func:`returns_kit.ledger.service.submit`
exactly as ``returns collect submit`` hands it a file (so it goes through the same container
inspection and validation as ``returns validate``), and the temporary copy is removed whatever
happens. What is kept is the ledger's own copy under ``DIR/files/``.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from returns_kit.ledger import service
from returns_kit.service import access

#: The multipart field that carries the workbook.
FIELD = "file"
#: Temporary uploads live here, inside the collection folder (same disk as ``files/``).
INCOMING = ".uploads"
#: Longest file name kept: the name is recorded in the log as the council gave it.
NAME_LIMIT = 120


class TooLarge(Exception):
    """The request declares a body over the upload limit (413); nothing was read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a return may be at most {limit // (1024 * 1024)} MB")
        self.limit = limit


class NoFile(Exception):
    """The request carries no ``file`` field (400)."""

    def __init__(self) -> None:
        super().__init__(f"send the workbook as the multipart form field {FIELD!r}")


def limit() -> int:
    from returns_kit.service.settings import UPLOAD_LIMIT_BYTES

    return UPLOAD_LIMIT_BYTES


def declared_length(request: Any) -> int:
    """The body size the request declares (0 when it declares none or nonsense)."""
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def check_size(request: Any) -> None:
    """Raise :class:`TooLarge` if the declared body is over the limit (reads nothing)."""
    if declared_length(request) > limit():
        raise TooLarge(limit())


def safe_name(name: str) -> str:
    """The uploaded file's name as we record it: its last path part, with anything but
    letters, digits, space and ``._()-`` replaced, and its suffix kept."""
    name = re.split(r"[\\/]", name)[-1]
    name = re.sub(r"[^\w .()-]", "_", name).strip(" .") or "upload.xlsx"
    if len(name) > NAME_LIMIT:
        stem, dot, suffix = name.rpartition(".")
        suffix = suffix[:10] if dot else ""
        name = (stem or name)[: NAME_LIMIT - len(suffix) - 1] + (dot and "." + suffix)
    return name


class _ToFolder:
    """A Django upload handler that streams the ``file`` field into ``folder`` under its
    (safe) name and skips every other file field, so no upload passes through memory whole
    or through the system's temporary folder."""

    chunk_size = 256 * 1024

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path: Path | None = None
        self.file: Any = None
        self.request: Any = None

    # Django's FileUploadHandler interface, implemented directly (the base class only
    # stores the same attributes)
    def handle_raw_input(self, *args: Any, **kwargs: Any) -> None:
        return None

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        from django.core.files.uploadhandler import SkipFile

        if field_name != FIELD or self.path is not None:
            raise SkipFile
        self.path = self.folder / safe_name(file_name)
        self.file = self.path.open("wb")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self.file is not None:
            self.file.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> Any:
        from django.core.files.uploadedfile import UploadedFile

        if self.file is None or self.path is None:
            return None
        self.file.close()
        return UploadedFile(file=self.file, name=self.path.name, size=file_size)

    def upload_interrupted(self) -> None:
        if self.file is not None:
            self.file.close()

    def upload_complete(self) -> None:
        return None


def _spool(request: Any, folder: Path) -> Path:
    """The upload as a file in ``folder``: streamed there by our handler, or, when something
    (the CSRF check of a page's form) parsed the body before the view, copied there."""
    handler = _ToFolder(folder)
    try:
        request.upload_handlers = [handler]
    except AttributeError:  # the body was parsed already, by Django's own handlers
        handler.path = None
    try:
        uploaded = request.FILES.get(FIELD)
    except Exception as problem:  # a body that is not the multipart it says it is
        from django.http.multipartparser import MultiPartParserError

        if isinstance(problem, MultiPartParserError):
            raise NoFile from problem
        raise
    if uploaded is None:
        raise NoFile
    if handler.path is not None and handler.path.exists():
        return handler.path
    path = folder / safe_name(uploaded.name or "")
    with path.open("wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    return path


def receive(request: Any, viewer: access.Viewer) -> service.Outcome:
    """Check, store, validate and record the request's uploaded return as ``viewer``.

    Raises :class:`TooLarge` (declared over the limit: nothing read) or :class:`NoFile`. A
    council's person can only submit their own council's return: a file naming another
    council comes back refused (``outcome.not_theirs``) and the refusal is in the log. The
    same bytes sent again are one submission (``submit`` recognises the SHA-256), so a
    client cut off mid-request can simply send the file again."""
    check_size(request)
    ledger = access.ledger()
    incoming = ledger.folder / INCOMING
    incoming.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=incoming, prefix="upload-"))
    try:
        path = _spool(request, folder)
        result = service.submit(ledger, [path], by=viewer.name, council=viewer.council_code or None)
        return result.outcomes[0]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
