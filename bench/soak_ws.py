"""WebSocket load for bench/soak.sh (Debian's python3-websockets): CLIENTS loops, each opening a
connection through the data plane, exchanging MESSAGES echoed messages (the echo origin is
dataplane/test/ws_tool.py) and closing, until SECONDS have passed. Prints
"ws sessions=N messages=M errors=E" and the first few errors.

  soak_ws.py PORT HOST SECONDS [CLIENTS] [MESSAGES]   (connects to 127.0.0.1:PORT, Host: HOST)
"""
import asyncio
import sys
import time

import websockets


async def loop(port, host, deadline, messages, totals, errors):
    while time.monotonic() < deadline:
        try:
            # The URI names the virtual host (the Host field); host/port name where to connect.
            async with websockets.connect(f"ws://{host}:{port}/ws", host="127.0.0.1", port=port,
                                          open_timeout=10, close_timeout=5) as ws:
                for i in range(messages):
                    m = f"soak {i} " + "x" * (i * 37 % 2000)
                    await ws.send(m)
                    got = await asyncio.wait_for(ws.recv(), 10)
                    if got != m:
                        raise RuntimeError(f"echo mismatch on message {i}")
                    totals["messages"] += 1
            totals["sessions"] += 1
        except Exception as e:  # any failure is a soak error, counted and shown
            totals["errors"] += 1
            if len(errors) < 5:
                errors.append(repr(e))
            await asyncio.sleep(0.1)


async def main():
    port, host, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    clients = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    messages = int(sys.argv[5]) if len(sys.argv) > 5 else 20
    totals = {"sessions": 0, "messages": 0, "errors": 0}
    errors = []
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(loop(port, host, deadline, messages, totals, errors) for _ in range(clients)))
    print(f"ws sessions={totals['sessions']} messages={totals['messages']} errors={totals['errors']}")
    for e in errors:
        print(f"ws error: {e}")


asyncio.run(main())
