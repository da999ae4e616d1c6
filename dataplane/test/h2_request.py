#!/usr/bin/python3
"""One HTTP/2 request over prior-knowledge h2c, with exactly the fields given (no client-side
validation, so tests can send what nghttp would refuse). Prints ":status: N", each response
field as "name: value", then "body: <body>"; "reset: <code>" if the stream was reset.

usage: h2_request.py PORT METHOD AUTHORITY PATH [name=value ...] [--data=BODY]
--data sends BODY as DATA after the HEADERS, whatever content-length says.
"""
import socket
import sys

import h2.config
import h2.connection
import h2.events


def main():
    port, method, authority, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    data = None
    extra = []
    for arg in sys.argv[5:]:
        if arg.startswith("--data="):
            data = arg[len("--data="):].encode()
        else:
            extra.append(tuple(arg.split("=", 1)))
    config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                       validate_outbound_headers=False,
                                       normalize_outbound_headers=False)
    conn = h2.connection.H2Connection(config=config)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.initiate_connection()
    headers = [(":method", method), (":scheme", "http"), (":authority", authority), (":path", path)] + extra
    conn.send_headers(1, headers, end_stream=data is None)
    if data is not None:
        conn.send_data(1, data, end_stream=True)
    sock.sendall(conn.data_to_send())
    body = b""
    done = False
    while not done:
        data = sock.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                for name, value in event.headers:
                    print(f"{name}: {value}" if name != ":status" else f":status: {value}")
            elif isinstance(event, h2.events.DataReceived):
                body += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                done = True
            elif isinstance(event, h2.events.StreamReset):
                print(f"reset: {event.error_code}")
                done = True
            elif isinstance(event, h2.events.ConnectionTerminated):
                print(f"goaway: {event.error_code}")
                done = True
        sock.sendall(conn.data_to_send())
    print("body: " + body.decode("utf-8", "replace"))


if __name__ == "__main__":
    main()
