"""Byte ranges of a download (web.downloads): one range per request, as browsers and download managers
ask for them; anything else gets the whole file."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.storage import CHUNK, AttachmentStore, FolderStore
from core.storage_db import DatabaseStore
from web.downloads import Unsatisfiable, byte_range, send_stored


@pytest.mark.parametrize(("header", "expected"), [
    (None, None),
    ("bytes=0-99", (0, 100)),
    ("bytes=10-", (10, 1000)),
    ("bytes=-100", (900, 1000)),
    ("bytes=-5000", (0, 1000)),
    ("bytes=990-5000", (990, 1000)),
    ("bytes=5-1", None),  # invalid: the whole file
    ("bytes=0-1,5-9", None),  # several ranges: the whole file
    ("items=0-1", None),
    ("bytes=-", None),
])
def test_a_single_byte_range_is_understood(header: str | None, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-1001", "bytes=-0"])
def test_a_range_past_the_end_is_unsatisfiable(header: str) -> None:
    with pytest.raises(Unsatisfiable):
        byte_range(header, 1000)


@pytest.fixture(params=["database", "folder"])
async def served(request: pytest.FixtureRequest, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
                 ) -> AsyncIterator[tuple[aiohttp.ClientSession, str, bytes]]:
    """A file of three and a half chunks in either store, served by send_stored on a real socket."""
    store: AttachmentStore = (DatabaseStore(sessions, 10 << 20) if request.param == "database"
                              else FolderStore(tmp_path / "files", 10 << 20))
    data = os.urandom(CHUNK * 3 + CHUNK // 2)
    stored = await store.save(data, "film.mp4", "video/mp4")

    async def handler(request: web.Request) -> web.StreamResponse:
        return await send_stored(request, store, request.match_info["key"].replace("_", "/"),
                                 {"Content-Type": "video/mp4"}, missing=web.HTTPNotFound())

    app = web.Application()
    app.router.add_get("/files/{key}", handler)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield http, str(server.make_url(f"/files/{stored.storage_key.replace('/', '_')}")), data
    await server.close()


async def test_a_stored_file_is_served_whole_by_range_and_not_again_when_unchanged(
    served: tuple[aiohttp.ClientSession, str, bytes],
) -> None:
    http, url, data = served
    async with http.get(url) as whole:
        assert whole.status == 200 and await whole.read() == data
        assert whole.headers["Content-Length"] == str(len(data))
        etag = whole.headers["ETag"]
        assert etag == f'"{hashlib.sha256(data).hexdigest()}"'
    start, last = CHUNK - 3, 2 * CHUNK + 5  # over two chunk edges
    async with http.get(url, headers={"Range": f"bytes={start}-{last}"}) as part:
        assert part.status == 206 and await part.read() == data[start:last + 1]
        assert part.headers["Content-Range"] == f"bytes {start}-{last}/{len(data)}"
    async with http.get(url, headers={"Range": f"bytes={len(data)}-"}) as past:
        assert past.status == 416 and past.headers["Content-Range"] == f"bytes */{len(data)}"
    async with http.get(url, headers={"Range": "bytes=0-9", "If-Range": '"another version"'}) as changed:
        assert changed.status == 200 and await changed.read() == data
    async with http.get(url, headers={"Range": "bytes=0-9", "If-Range": etag}) as same:
        assert same.status == 206 and await same.read() == data[:10]
    async with http.get(url, headers={"If-None-Match": f'"other", {etag}'}) as cached:
        assert cached.status == 304 and cached.headers["ETag"] == etag
    async with http.head(url) as head:
        assert head.status == 200 and head.headers["Content-Length"] == str(len(data)) and await head.read() == b""
    missing = url.rsplit("/", 1)[0] + "/ab_" + "ab" + "0" * 62
    async with http.get(missing) as gone:
        assert gone.status == 404
