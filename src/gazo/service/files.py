"""The Files API's store (`/v1/files`): bytes in the data dir, metadata in the database.

A file belongs to the organisation of the key that uploaded it (every key of that organisation may use
it), or to that key alone when it has none. Bytes are written to a temporary name and renamed into
place before the row exists, so a file listed is a file whole; a row whose file vanished reads as
gone. Files expire after `batch.files_ttl_days` and are deleted then (batch outputs hold prompts and
images, which gazo does not keep longer than the operator says).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from gazo.billing.values import Caller
from gazo.errors import InvalidRequest, NotFound, PayloadTooLarge
from gazo.settings import BatchSettings
from gazo.store import files as file_rows
from gazo.store.database import Database
from gazo.store.tables import StoredFile, utcnow

#: Purposes a client may upload; `batch_output` files are made by gazo (a batch's output and errors).
UPLOAD_PURPOSES = ("batch", "vision", "user_data")
PURPOSES = (*UPLOAD_PURPOSES, "batch_output")
#: A half-written upload older than this was left by a process that died (an upload streams in minutes).
PARTIAL_UPLOAD_AGE_S = 6 * 3600


@dataclass(frozen=True)
class FileInfo:
    id: str
    bytes: int
    created_at: datetime
    filename: str
    purpose: str
    expires_at: datetime | None

    @classmethod
    def of(cls, row: StoredFile) -> FileInfo:
        return cls(row.id, row.bytes, row.created_at, row.filename, row.purpose, row.expires_at)

    def to_openai(self) -> dict[str, Any]:
        """openai-python's `FileObject`."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": int(self.created_at.timestamp()),
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": int(self.expires_at.timestamp()) if self.expires_at else None,
            "status_details": None,
        }


class FileStore:
    """Blocking: call it off the event loop."""

    def __init__(self, database: Database, folder: Path, settings: BatchSettings) -> None:
        self.database = database
        self.folder = folder
        self.settings = settings

    def save(self, caller: Caller, source: BinaryIO | bytes, *, filename: str, purpose: str) -> FileInfo:
        """Keep `source` (bytes, or a file object read to its end) as a new file of `caller`'s."""
        if purpose not in PURPOSES:
            raise InvalidRequest(f"`purpose` must be one of {', '.join(UPLOAD_PURPOSES)}.", param="purpose")
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.folder / f".{file_id}.part"
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            if isinstance(source, bytes):
                out.write(source)
            else:
                shutil.copyfileobj(source, out, 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        size = temporary.stat().st_size
        now = utcnow()
        if purpose != "batch_output":  # gazo's own output is never refused: its batch was accepted
            try:
                self._check_room(caller, size, now)
            except PayloadTooLarge:
                temporary.unlink(missing_ok=True)
                raise
        temporary.rename(self.folder / file_id)
        row = StoredFile(
            id=file_id,
            org_id=caller.org_id,
            key_id=caller.key_id,
            purpose=purpose,
            filename=_safe_name(filename),
            bytes=size,
            created_at=now,
            expires_at=now + timedelta(days=self.settings.files_ttl_days),
        )
        try:
            with self.database.transaction() as session:
                file_rows.add(session=session, row=row)
        except BaseException:
            (self.folder / file_id).unlink(missing_ok=True)
            raise
        return FileInfo.of(row)

    def _check_room(self, caller: Caller, size: int, now: datetime) -> None:
        limit = self.settings.max_stored_bytes
        owner = {"org_id": caller.org_id, "key_id": caller.key_id}
        with self.database.reading() as session:
            kept = file_rows.stored_bytes(session=session, now=now, **owner)
        if kept + size > limit:
            raise PayloadTooLarge(
                f"Your files would take {kept + size} bytes; at most {limit} may be kept at once. Delete "
                "files you no longer need (`DELETE /v1/files/{id}`).",
                param="file",
            )

    def info(self, caller: Caller, file_id: str) -> FileInfo:
        with self.database.reading() as session:
            row = file_rows.find(
                session=session, file_id=file_id, org_id=caller.org_id, key_id=caller.key_id, now=utcnow()
            )
            info = FileInfo.of(row) if row is not None else None
        if info is None or not self.path(info.id).is_file():
            raise NotFound(f"No such File object: {file_id[:60]}", param="file_id")
        return info

    def path(self, file_id: str) -> Path:
        return self.folder / file_id

    def read(self, caller: Caller, file_id: str, *, limit: int) -> tuple[FileInfo, bytes]:
        """A file's metadata and bytes, if it is at most `limit` bytes (an image a request names)."""
        info = self.info(caller, file_id)
        if info.bytes > limit:
            raise InvalidRequest(f"The file {file_id[:60]} is larger than {limit} bytes.", param="file_id")
        return info, self.path(info.id).read_bytes()

    def page(
        self, caller: Caller, *, purpose: str | None, limit: int, after: str | None, order: str
    ) -> tuple[list[FileInfo], bool]:
        """A page of the caller's files (and whether more follow), newest first unless `order` is asc."""
        now = utcnow()
        with self.database.reading() as session:
            cursor = None
            if after is not None:
                cursor = file_rows.find(
                    session=session, file_id=after, org_id=caller.org_id, key_id=caller.key_id, now=now
                )
                if cursor is None:
                    raise InvalidRequest(f"`after` names no file of yours: {after[:60]}", param="after")
            rows = file_rows.page(
                session=session,
                org_id=caller.org_id,
                key_id=caller.key_id,
                now=now,
                purpose=purpose,
                limit=limit + 1,
                after=cursor,
                newest_first=order != "asc",
            )
            found = [FileInfo.of(row) for row in rows]
        return found[:limit], len(found) > limit

    def delete(self, caller: Caller, file_id: str) -> None:
        info = self.info(caller, file_id)
        with self.database.transaction() as session:
            file_rows.remove(session=session, file_id=info.id)
        self.path(info.id).unlink(missing_ok=True)

    def purge_expired(self) -> int:
        """Delete every expired file, row and bytes; returns how many went."""
        with self.database.transaction() as session:
            gone = file_rows.expired(session=session, now=utcnow())
            for file_id in gone:
                file_rows.remove(session=session, file_id=file_id)
        for file_id in gone:
            self.path(file_id).unlink(missing_ok=True)
        self._sweep_partial()
        return len(gone)

    def _sweep_partial(self) -> None:
        """Uploads a killed process left half-written (`.file-*.part`): no row names them, so they go
        once no upload could still be writing them."""
        cutoff = time.time() - PARTIAL_UPLOAD_AGE_S
        for partial in self.folder.glob(".file-*.part") if self.folder.is_dir() else ():
            if partial.stat().st_mtime < cutoff:
                partial.unlink(missing_ok=True)


def _safe_name(filename: str) -> str:
    """The name shown back: no folders, no control characters, at most 255 characters."""
    name = Path(filename.replace("\\", "/")).name or "upload"
    return "".join(char if char.isprintable() else "_" for char in name)[:255]
