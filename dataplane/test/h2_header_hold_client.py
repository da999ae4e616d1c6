"""A slow HTTP/2 client for the data-plane tests (run with /usr/bin/python3, Debian's
python3-hpack): on a prior-knowledge h2c connection, sends the preface, SETTINGS and a HEADERS
frame without END_HEADERS (with MODE "continuation" also one CONTINUATION without it), then
nothing more; reads until the server ends the connection or TIMEOUT_S pass. Prints
"GOAWAY <error code> <ms>", "CLOSED <ms>" or "OPEN <ms>" (ms since the HEADERS were sent).

usage: h2_header_hold_client.py PORT TIMEOUT_S [MODE]
"""
import socket
import struct
import sys
import time

import hpack

HEADERS, SETTINGS, GOAWAY, CONTINUATION = 0x1, 0x4, 0x7, 0x9
END_STREAM = 0x1


def frame(kind, flags, stream_id, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream_id) + payload


def main():
    port, timeout_s = int(sys.argv[1]), float(sys.argv[2])
    continuation = len(sys.argv) > 3 and sys.argv[3] == "continuation"
    sock = socket.create_connection(("127.0.0.1", port))
    block = hpack.Encoder().encode([(":method", "GET"), (":scheme", "http"), (":authority", "site.test"),
                                    (":path", "/echo"), ("x-held", "y" * 64)])
    first, rest = (block[:len(block) // 2], block[len(block) // 2:]) if continuation else (block, b"")
    out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(SETTINGS, 0, 0, b"")
    out += frame(HEADERS, END_STREAM, 1, first)  # no END_HEADERS (0x4)
    if continuation:
        out += frame(CONTINUATION, 0, 1, rest[:1])  # still no END_HEADERS
    sock.sendall(out)
    start = time.monotonic()
    elapsed = lambda: int((time.monotonic() - start) * 1000)
    buf = b""
    while True:
        left = timeout_s - (time.monotonic() - start)
        if left <= 0:
            print("OPEN %d" % elapsed())
            return
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            data = b""
        if not data:
            print("CLOSED %d" % elapsed())
            return
        buf += data
        while len(buf) >= 9:
            length = struct.unpack(">I", b"\0" + buf[:3])[0]
            if len(buf) < 9 + length:
                break
            kind, payload = buf[3], buf[9:9 + length]
            buf = buf[9 + length:]
            if kind == GOAWAY:
                print("GOAWAY %d %d" % (struct.unpack(">I", payload[4:8])[0], elapsed()))
                return


if __name__ == "__main__":
    main()
