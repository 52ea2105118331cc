"""Attachment files stored once by content hash under $DESK_DATA_DIR/attachments."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import TooLarge, UnsupportedType

# What a desk accepts; anything executable or script-like is refused.
ALLOWED_TYPES = (
    "image/",
    "audio/",
    "video/",
    "text/plain",
    "text/csv",
    "application/pdf",
    "application/zip",
    "application/json",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.",
    "application/vnd.ms-excel",
    "application/vnd.oasis.opendocument.",
    "application/octet-stream",
    "application/x-tgsticker",
    "text/calendar",
    "message/rfc822",
)
BLOCKED_SUFFIXES = (
    ".exe", ".bat", ".cmd", ".com", ".scr", ".js", ".vbs", ".msi", ".jar", ".ps1", ".sh", ".html", ".htm", ".svg",
)


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    storage_key: str
    size: int


@dataclass
class AttachmentStore:
    root: Path
    max_bytes: int

    def check(self, file_name: str, content_type: str, size: int) -> None:
        if size > self.max_bytes:
            raise TooLarge("file too large", size=size, limit=self.max_bytes)
        lowered = file_name.lower()
        if lowered.endswith(BLOCKED_SUFFIXES) or not content_type.lower().startswith(ALLOWED_TYPES):
            raise UnsupportedType("file type not accepted", content_type=content_type, file_name=file_name)

    def save(self, data: bytes, file_name: str, content_type: str) -> StoredFile:
        self.check(file_name, content_type, len(data))
        digest = hashlib.sha256(data).hexdigest()
        key = f"{digest[:2]}/{digest}"
        target = self.root / key
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
                handle.write(data)
                temp = Path(handle.name)
            temp.replace(target)  # atomic: a reader never sees half a file
        else:
            target.touch()  # fresh again: the orphan sweep (core.jobs.prune) spares it during its grace period
        return StoredFile(sha256=digest, storage_key=key, size=len(data))

    def path(self, storage_key: str) -> Path:
        candidate = (self.root / storage_key).resolve()
        if self.root.resolve() not in candidate.parents:
            raise UnsupportedType("bad storage key")
        return candidate

    def read(self, storage_key: str) -> bytes:
        return self.path(storage_key).read_bytes()
