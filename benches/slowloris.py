#!/usr/bin/env python3
"""Holds N half-open connections to a server for a while (loopback only).

    benches/slowloris.py PORT N SECONDS

Each connection sends the first line of a request and one header, then
nothing; when the server closes it (its header timeout), it is opened again,
so N stay held for the whole time. Prints one line: how many were opened in
all, how many the server closed, and how many were held at the end. Used by
benches/http_load.sh; bounded in count and time, and only ever connects to
127.0.0.1.
"""
import asyncio
import resource
import sys

HOST = "127.0.0.1"
PARTIAL = b"GET /api/card/balance/by/number/1 HTTP/1.1\r\nHost: slow\r\n"


async def hold(port, deadline, stats):
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            stats["refused"] += 1
            await asyncio.sleep(0.2)
            continue
        stats["opened"] += 1
        stats["held"] += 1
        try:
            writer.write(PARTIAL)
            await writer.drain()
            left = deadline - loop.time()
            if left > 0:
                await asyncio.wait_for(reader.read(), timeout=left)
                stats["closed_by_server"] += 1
        except (asyncio.TimeoutError, OSError):
            pass
        finally:
            stats["held"] -= 1
            writer.close()


async def main(port, n, seconds):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 256)), hard))
    deadline = asyncio.get_running_loop().time() + seconds
    stats = {"opened": 0, "closed_by_server": 0, "refused": 0, "held": 0}
    tasks = []
    for _ in range(n):
        tasks.append(asyncio.create_task(hold(port, deadline, stats)))
        if len(tasks) % 500 == 0:
            await asyncio.sleep(0.05)
    await asyncio.sleep(max(0.0, deadline - asyncio.get_running_loop().time() - 0.5))
    held_at_end = stats["held"]
    await asyncio.gather(*tasks, return_exceptions=True)
    print(f"slowloris: {n} wanted, {stats['opened']} opened, {stats['closed_by_server']} closed by the server, "
          f"{stats['refused']} refused, {held_at_end} held near the end")


if __name__ == "__main__":
    port, n, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    assert n <= 20000 and seconds <= 600, "bounded: at most 20000 connections for 600 s"
    asyncio.run(main(port, n, seconds))
