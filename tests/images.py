"""Small real images for upload tests, made here rather than kept as binary files (core.images)."""

from __future__ import annotations

from core.images import png

__all__ = ["png"]
