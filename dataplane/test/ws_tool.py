"""Real WebSocket peers for the data-plane tests (Debian's python3-websockets).

  ws_tool.py server           echo server on 127.0.0.1, prints "ws ready port=N"
  ws_tool.py client URL       sends text, binary and a 100 KB message, expects them echoed,
                              prints "ws ok" (exit 0) or the problem (exit 1)
"""
import asyncio
import sys

import websockets


async def serve():
    async def echo(ws, path=None):
        async for message in ws:
            await ws.send(message)

    server = await websockets.serve(echo, "127.0.0.1", 0, max_size=None)
    port = server.sockets[0].getsockname()[1]
    print(f"ws ready port={port}", flush=True)
    await asyncio.Future()


async def client(url):
    messages = ["hello", b"\x00\x01binary\xff", "x" * 100_000]
    async with websockets.connect(url, max_size=None, open_timeout=10) as ws:
        for m in messages:
            await ws.send(m)
            got = await asyncio.wait_for(ws.recv(), 10)
            if got != m:
                print(f"mismatch: sent {len(m)} got {len(got)}", flush=True)
                return 1
        await ws.close()
    print("ws ok", flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "server":
        asyncio.run(serve())
    else:
        sys.exit(asyncio.run(client(sys.argv[2])))
