"""kubectl for the connect tests, on 127.0.0.1 only: `get secret` prints FAKE_RAY_TOKEN as a Secret's data
(base64); `port-forward` forwards 127.0.0.1:<local> to FAKE_FORWARD_TO (host:port) until it is terminated.
Each call appends its arguments to FAKE_KUBECTL_LOG."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def _forward(local_port: int, target: str) -> None:
    host, port = target.rsplit(":", 1)
    if host != "127.0.0.1":
        raise SystemExit(f"fake kubectl forwards to 127.0.0.1 only, not {host}")

    async def handle(client_reader, client_writer):
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", local_port)
    print(f"Forwarding from 127.0.0.1:{local_port} -> {port}", flush=True)
    async with server:
        await server.serve_forever()


def main(args: list[str]) -> int:
    with open(os.environ["FAKE_KUBECTL_LOG"], "a") as log:
        log.write(json.dumps(args) + "\n")
    if "get" in args and "secret" in args:
        token = os.environ.get("FAKE_RAY_TOKEN")
        if not token:
            print('Error from server (Forbidden): secrets is forbidden: User "x" cannot get resource', file=sys.stderr)
            return 1
        print(base64.b64encode(token.encode()).decode(), end="")
        return 0
    if "port-forward" in args:
        local = int(args[-1].split(":")[0])
        asyncio.run(_forward(local, os.environ["FAKE_FORWARD_TO"]))
        return 0
    print(f"fake kubectl: unsupported {args}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
