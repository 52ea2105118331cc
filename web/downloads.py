"""Every stored file leaves through `send_stored`: streamed from the store in pieces, with its sha256 as
the ETag (If-None-Match answers 304) and one byte range per request (206; `If-Range` honoured; a range
past the end is 416). Several ranges in one request get the whole file, as RFC 9110 allows."""

from __future__ import annotations

import re

from aiohttp import hdrs, web

from core.storage import AttachmentStore, FileInfo, MissingFile

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(Exception):
    pass


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """[start, stop) of a single `bytes=` range; None for the whole file (no header, or one we do not
    serve); Unsatisfiable for a range that starts past the end."""
    found = _RANGE.match((header or "").strip())
    if found is None or found.group(1) == found.group(2) == "":
        return None
    first, last = found.group(1), found.group(2)
    if first == "":  # the last N bytes
        if int(last) == 0 or size == 0:
            raise Unsatisfiable
        return max(size - int(last), 0), size
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise Unsatisfiable
    return start, size if not last else min(int(last) + 1, size)


def _matches(header: str, etag: str) -> bool:
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag in tags


async def send_stored(request: web.Request, store: AttachmentStore, storage_key: str, headers: dict[str, str],
                      *, missing: Exception) -> web.StreamResponse:
    """The file under `storage_key` with `headers` (type, disposition, caching); `missing` is raised
    when the store has no such file."""
    try:
        info = await store.stat(storage_key)
    except MissingFile:
        raise missing from None
    etag = f'"{info.sha256}"'
    common = {**headers, hdrs.ETAG: etag, hdrs.ACCEPT_RANGES: "bytes"}
    if _matches(request.headers.get(hdrs.IF_NONE_MATCH, ""), etag):
        return web.Response(status=304, headers={k: v for k, v in common.items() if k != hdrs.CONTENT_TYPE})
    wanted = request.headers.get(hdrs.RANGE)
    if_range = request.headers.get(hdrs.IF_RANGE)
    if if_range is not None and if_range.strip() != etag:
        wanted = None  # the client's part is of another version: send it all
    try:
        span = byte_range(wanted, info.size)
    except Unsatisfiable:
        return web.Response(status=416, headers={**common, hdrs.CONTENT_RANGE: f"bytes */{info.size}"})
    return await _stream(request, store, storage_key, info, span, common)


async def _stream(request: web.Request, store: AttachmentStore, storage_key: str, info: FileInfo,
                  span: tuple[int, int] | None, headers: dict[str, str]) -> web.StreamResponse:
    start, stop = span or (0, info.size)
    response = web.StreamResponse(status=206 if span else 200, headers=headers)
    if span:
        response.headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{stop - 1}/{info.size}"
    response.content_length = stop - start
    await response.prepare(request)
    if request.method != hdrs.METH_HEAD:
        async for part in store.chunks(storage_key, start, stop):
            await response.write(part)
    await response.write_eof()
    return response
