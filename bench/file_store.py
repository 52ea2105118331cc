"""File store throughput: a 20 MB file saved and read back through the database store (PostgreSQL,
256 KiB chunks) and the folder store, and served over HTTP by `send_stored`, next to a raw baseline
in the same run (the same bytes written to a file and read back in 1 MiB pieces, as `cat` would).

    python -m bench.file_store [--mb 20] [--rounds 5]

PostgreSQL: BENCH_DATABASE_URL's server, else an embedded one in a temporary directory. Each round
saves new random bytes (a save of known bytes is only a touch). Figures are medians in MB/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from bench.scratch import scratch_database
from core.db import create_engine, create_session_factory
from core.migrate import upgrade
from core.storage import AttachmentStore, FolderStore
from core.storage_db import DatabaseStore
from web.downloads import send_stored


def raw_round(folder: Path, data: bytes) -> tuple[float, float]:
    path = folder / "raw.bin"
    started = time.perf_counter()
    with path.open("wb") as out:
        out.write(data)
    written = time.perf_counter()
    with path.open("rb") as source:
        while source.read(1 << 20):
            pass
    return written - started, time.perf_counter() - written


async def store_round(store: AttachmentStore, data: bytes, http: aiohttp.ClientSession, base: str,
                      keys: dict[str, AttachmentStore]) -> tuple[float, float, float]:
    started = time.perf_counter()
    stored = await store.save(data, "film.mp4", "video/mp4")
    saved = time.perf_counter()
    total = 0
    async for part in store.chunks(stored.storage_key):
        total += len(part)
    read = time.perf_counter()
    assert total == len(data)
    keys[stored.storage_key.replace("/", "_")] = store
    async with http.get(f"{base}/{stored.storage_key.replace('/', '_')}") as response:
        async for part in response.content.iter_chunked(1 << 20):
            total += len(part)
    served = time.perf_counter()
    assert total == 2 * len(data)
    return saved - started, read - saved, served - read


async def measure(size: int, rounds: int) -> None:
    async with scratch_database("files") as url:
        await upgrade(url)
        engine = create_engine(url, pool_size=5)
        keys: dict[str, AttachmentStore] = {}

        async def handler(request: web.Request) -> web.StreamResponse:
            key = request.match_info["key"]
            return await send_stored(request, keys[key], key.replace("_", "/"), {"Content-Type": "video/mp4"},
                                     missing=web.HTTPNotFound())

        app = web.Application()
        app.router.add_get("/files/{key}", handler)
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        try:
            with tempfile.TemporaryDirectory(prefix="desk-bench-files-") as folder:
                stores: dict[str, AttachmentStore] = {
                    "database": DatabaseStore(create_session_factory(engine), size * 2),
                    "folder": FolderStore(Path(folder) / "attachments", size * 2),
                }
                figures: dict[str, list[tuple[float, ...]]] = {"raw": [], **{name: [] for name in stores}}
                async with aiohttp.ClientSession() as http:
                    base = str(server.make_url("/files"))
                    for _ in range(rounds):
                        data = os.urandom(size)
                        figures["raw"].append(await asyncio.to_thread(raw_round, Path(folder), data))
                        for name, store in stores.items():
                            figures[name].append(await store_round(store, data + name.encode(), http, base, keys))
        finally:
            await server.close()
            await engine.dispose()
    mb = size / 1e6
    print(f"{size / 1e6:.0f} MB file, median of {rounds} rounds, MB/s (higher is better)")
    print(f"{'':10}{'save':>10}{'read':>10}{'HTTP GET':>10}")
    for name, rows in figures.items():
        columns = [mb / statistics.median(column) for column in zip(*rows, strict=True)]
        cells = "".join(f"{value:10.0f}" for value in columns) + ("" if name != "raw" else f"{'-':>10}")
        print(f"{name:10}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(measure(args.mb * 1_000_000, args.rounds))


if __name__ == "__main__":
    main()
