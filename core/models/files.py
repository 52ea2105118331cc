from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, now_column


class Blob(Base):
    """A stored file's content, once per sha256 (core.files.database). `touched_at` is its last save:
    the orphan sweep spares a blob saved within the grace period, as the folder store spares a
    touched file."""

    __tablename__ = "blob"
    __table_args__ = (Index("ix_blob_touched_at", "touched_at"),)

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    chunk_size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = now_column()
    touched_at: Mapped[datetime] = now_column()


class BlobChunk(Base):
    """Bytes [n * chunk_size, (n + 1) * chunk_size) of a blob; stored uncompressed (STORAGE EXTERNAL)."""

    __tablename__ = "blob_chunk"

    sha256: Mapped[str] = mapped_column(String(64), ForeignKey("blob.sha256", ondelete="CASCADE"),
                                        primary_key=True)
    n: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
