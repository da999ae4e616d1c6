"""A client that puts every request in its own TLS record and sends all the records in one TCP
write, before reading anything, so the data plane's first read() takes them all (run with
/usr/bin/python3; h2 mode needs Debian's python3-h2). A server that reads ahead must serve what
OpenSSL already buffered: epoll will never announce those bytes, and this client sends nothing
more, so a server that stops early leaves it waiting. Prints "ANSWERED <n>" or "TIMEOUT".

usage: tls_records_client.py PORT SNI http1|h2 COUNT PATH [PAD]
  PAD: bytes of an extra header per request (distinct values, so HPACK cannot shrink them), to
  make the burst larger than what the server reads per turn.
"""
import socket
import ssl
import sys


class Tls:
    """TLS over memory BIOs: each write() is one record; flush() sends what is queued at once."""

    def __init__(self, port, sni, alpn):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols([alpn])
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.settimeout(20)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_hostname=sni)
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                self.feed()
        self.flush()
        assert self.obj.selected_alpn_protocol() == alpn, self.obj.selected_alpn_protocol()

    def flush(self):
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def feed(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.incoming.write(data)

    def write(self, data):
        self.obj.write(data)

    def read(self):
        while True:
            try:
                return self.obj.read(65536)
            except ssl.SSLWantReadError:
                self.feed()
            except ssl.SSLZeroReturnError:
                return b""


def padding(i, pad):
    return ("%08d" % i) * (pad // 8) if pad else ""


def http1(tls, sni, count, path, pad):
    for i in range(count):
        last = "Connection: close\r\n" if i == count - 1 else ""
        extra = "X-Pad: %s\r\n" % padding(i, pad) if pad else ""
        tls.write(("GET %s HTTP/1.1\r\nHost: %s\r\n%s%s\r\n" % (path, sni, extra, last)).encode())
    tls.flush()
    received = b""
    try:
        while received.count(b"HTTP/1.1 200 ") < count:
            data = tls.read()
            if not data:
                break
            received += data
    except EOFError:
        pass
    return received.count(b"HTTP/1.1 200 ")


def h2(tls, sni, count, path, pad):
    import h2.config
    import h2.connection
    import h2.events

    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    tls.write(conn.data_to_send())
    headers = [(":method", "GET"), (":scheme", "https"), (":authority", sni), (":path", path)]
    for i in range(count):
        extra = [("x-pad", padding(i, pad))] if pad else []
        conn.send_headers(conn.get_next_available_stream_id(), headers + extra, end_stream=True)
        tls.write(conn.data_to_send())  # one record per request
    tls.flush()
    # Nothing more is sent until every answer is in (the bodies fit the initial windows).
    answered = 0
    while answered < count:
        data = tls.read()
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.StreamEnded):
                answered += 1
    return answered


def main():
    port, sni, mode, count, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    pad = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    try:
        tls = Tls(port, sni, "http/1.1" if mode == "http1" else "h2")
        n = (http1 if mode == "http1" else h2)(tls, sni, count, path, pad)
    except socket.timeout:
        print("TIMEOUT")
        return
    print("ANSWERED %d" % n)


main()
