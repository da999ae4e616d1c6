#!/usr/bin/python3
"""A tiny HTTP proxy in front of dynalite for the EventHorizon tests.

Throttling: answers the next N requests with DynamoDB's throttling error instead of forwarding
them (no request reaches dynalite, so nothing is applied).

Transactions (--transactions): dynalite has no TransactWriteItems, and no engine with
transactions runs here, so the proxy answers it itself for Put items, with DynamoDB's documented
semantics: every ConditionExpression is checked first (only `attribute_not_exists(a) [AND ...]`,
what EventHorizon uses); if any fails, nothing is written and the answer is
TransactionCanceledException with one CancellationReason per item, in order ("None" for the
items that did not fail). Requests are serialised through the proxy, so a transaction is atomic
for every client that goes through it. Anything else in TransactItems is a ValidationException,
so a request shape the real engine would refuse fails the test instead of passing silently.

usage: dynamo_proxy.py LISTEN_PORT UPSTREAM_PORT [--transactions]
  POST /__throttle with body N      throttle the next N requests
  POST /__before_next_tx with body  an item (attribute-map JSON) put just before the next
                                    transaction is checked, as a concurrent writer would
  GET  /__stats                     {"throttled": n, "forwarded": n, "transactions": n, "cancelled": n}
Prints "dynamo proxy listening on PORT" when ready. Loopback only.
"""
import http.client
import http.server
import json
import re
import sys
import threading

lock = threading.Lock()  # held for every forwarded request: transactions stay atomic
state = {"pending": 0, "throttled": 0, "forwarded": 0, "transactions": 0, "cancelled": 0, "before_next_tx": None}
UPSTREAM = None
TRANSACTIONS = False
NOT_EXISTS = re.compile(r"^\s*attribute_not_exists\((\w+)\)\s*(?:AND\s+attribute_not_exists\((\w+)\)\s*)*$")


class DynamoError(Exception):
    def __init__(self, kind, message, extra=None):
        super().__init__(message)
        self.kind, self.message, self.extra = kind, message, extra or {}


def upstream(headers, target, body):
    """One DynamoDB call on dynalite; the caller's SigV4 headers are reused (dynalite checks only
    their shape). Returns (status, parsed JSON)."""
    conn = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=30)
    h = {k: v for k, v in headers.items() if k.lower() not in ("connection", "keep-alive", "content-length")}
    h["X-Amz-Target"] = "DynamoDB_20120810." + target
    conn.request("POST", "/", body=json.dumps(body).encode(), headers=h)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, json.loads(data or b"{}")


def key_schema(headers, table):
    status, d = upstream(headers, "DescribeTable", {"TableName": table})
    if status != 200:
        raise DynamoError("ResourceNotFoundException", "table %s: %s" % (table, d))
    return [k["AttributeName"] for k in d["Table"]["KeySchema"]]


def transact(headers, request):
    items = request.get("TransactItems")
    if not isinstance(items, list) or not 1 <= len(items) <= 100:
        raise DynamoError("ValidationException", "TransactItems must hold 1 to 100 items")
    puts = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or list(item.keys()) != ["Put"]:
            raise DynamoError("ValidationException", "TransactItems[%d]: only Put is supported here" % i)
        put = item["Put"]
        unknown = set(put) - {"TableName", "Item", "ConditionExpression"}
        if unknown or not isinstance(put.get("TableName"), str) or not isinstance(put.get("Item"), dict):
            raise DynamoError("ValidationException", "TransactItems[%d].Put: bad shape %s" % (i, sorted(put)))
        condition = put.get("ConditionExpression")
        names = []
        if condition is not None:
            m = NOT_EXISTS.match(condition)
            if not m:
                raise DynamoError("ValidationException", "TransactItems[%d]: condition %r not supported" % (i, condition))
            names = re.findall(r"attribute_not_exists\((\w+)\)", condition)
        puts.append((put, names))
    if state["before_next_tx"] is not None:
        item, state["before_next_tx"] = state["before_next_tx"], None
        upstream(headers, "PutItem", {"TableName": puts[0][0]["TableName"], "Item": item})
    reasons, failed = [], False
    for put, names in puts:
        keys = key_schema(headers, put["TableName"])
        key = {k: put["Item"][k] for k in keys}
        status, got = upstream(headers, "GetItem", {"TableName": put["TableName"], "Key": key, "ConsistentRead": True})
        if status != 200:
            raise DynamoError("InternalServerError", "GetItem: %s" % got)
        existing = got.get("Item", {})
        if any(n in existing for n in names):
            reasons.append({"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"})
            failed = True
        else:
            reasons.append({"Code": "None"})
    state["transactions"] += 1
    if failed:
        state["cancelled"] += 1
        codes = ", ".join(r["Code"] for r in reasons)
        raise DynamoError("TransactionCanceledException",
                          "Transaction cancelled, please refer cancellation reasons for specific reasons [%s]" % codes,
                          {"CancellationReasons": reasons})
    for put, _ in puts:
        status, got = upstream(headers, "PutItem", {"TableName": put["TableName"], "Item": put["Item"]})
        if status != 200:
            raise DynamoError("InternalServerError", "PutItem: %s" % got)
    return {}


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
            stats = {k: v for k, v in state.items() if k not in ("pending", "before_next_tx")}
            self.reply(200, json.dumps(stats), "application/json")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/__throttle":
            with lock:
                state["pending"] = int(body)
            return self.reply(200, "{}", "application/json")
        if self.path == "/__before_next_tx":
            with lock:
                state["before_next_tx"] = json.loads(body)
            return self.reply(200, "{}", "application/json")
        with lock:
            if state["pending"] > 0:
                state["pending"] -= 1
                state["throttled"] += 1
                return self.reply(400, json.dumps({
                    "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                    "message": "Rate of requests exceeds the allowed throughput."}))
            state["forwarded"] += 1
            if TRANSACTIONS and self.headers.get("X-Amz-Target", "").endswith(".TransactWriteItems"):
                try:
                    return self.reply(200, json.dumps(transact(self.headers, json.loads(body))))
                except DynamoError as e:
                    answer = {"__type": "com.amazonaws.dynamodb.v20120810#" + e.kind, "Message": e.message}
                    answer.update(e.extra)
                    return self.reply(500 if e.kind == "InternalServerError" else 400, json.dumps(answer))
            self.forward(body)

    def forward(self, body):
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
    global UPSTREAM, TRANSACTIONS
    UPSTREAM = int(sys.argv[2])
    TRANSACTIONS = "--transactions" in sys.argv[3:]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("dynamo proxy listening on %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
