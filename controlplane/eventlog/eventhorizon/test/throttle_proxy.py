#!/usr/bin/python3
"""A tiny HTTP proxy in front of dynalite that answers the next N requests with DynamoDB's
throttling error instead of forwarding them (no request reaches dynalite, so nothing is applied).

usage: throttle_proxy.py LISTEN_PORT UPSTREAM_PORT
  POST /__throttle with body N   throttle the next N requests
  GET  /__stats                  {"throttled": n, "forwarded": n}
Prints "throttle proxy listening on PORT" when ready. Loopback only.
"""
import http.client
import http.server
import json
import sys
import threading

lock = threading.Lock()
state = {"pending": 0, "throttled": 0, "forwarded": 0}
UPSTREAM = None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="application/x-amz-json-1.0"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            self.reply(200, json.dumps({"throttled": state["throttled"], "forwarded": state["forwarded"]}),
                       "application/json")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/__throttle":
            with lock:
                state["pending"] = int(body)
            return self.reply(200, "{}", "application/json")
        with lock:
            throttle = state["pending"] > 0
            if throttle:
                state["pending"] -= 1
                state["throttled"] += 1
            else:
                state["forwarded"] += 1
        if throttle:
            return self.reply(400, json.dumps({
                "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                "message": "Rate of requests exceeds the allowed throughput."}))
        conn = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        conn.request("POST", self.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()


def main():
    global UPSTREAM
    UPSTREAM = int(sys.argv[2])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("throttle proxy listening on %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
