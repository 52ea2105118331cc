"""Small real images made in code (PNG): product pictures for the demo desk and files for tests,
with no binary files in the repository and no network."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

Rgb = tuple[int, int, int]


def png(width: int = 2, height: int = 2, rgb: Rgb = (200, 30, 30)) -> bytes:
    """A valid PNG of one colour (browsers decode it; its first bytes are PNG's signature)."""
    return drawn(width, height, lambda _x, _y: rgb)


def drawn(width: int, height: int, pixel: Callable[[int, int], Rgb]) -> bytes:
    """A PNG whose every pixel `pixel(x, y)` gives (8-bit RGB, no filter, zlib-compressed rows)."""
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b"")


def cup(background: Rgb, cup_colour: Rgb, size: int = 160) -> bytes:
    """A flat picture of a cup (a rounded body, a handle, a saucer) on a coloured background."""
    centre, radius = size * 0.45, size * 0.26

    def pixel(x: int, y: int) -> Rgb:
        dx, dy = x - centre, y - size * 0.5
        body = dx * dx + dy * dy <= radius * radius and y >= size * 0.38
        rim = abs(y - size * 0.38) <= size * 0.02 and abs(dx) <= radius
        handle_dx, handle_dy = x - (centre + radius), y - size * 0.52
        handle = radius * 0.18 <= (handle_dx * handle_dx + handle_dy * handle_dy) ** 0.5 <= radius * 0.34
        saucer = abs(y - size * 0.78) <= size * 0.025 and abs(x - centre) <= radius * 1.5
        if body or rim or saucer or (handle and handle_dx > 0):
            return cup_colour
        return background

    return drawn(size, size, pixel)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
