#!/usr/bin/python3
"""An EventHorizon writer and reader that shares no code with ours: Debian's python3-botocore
speaking to DynamoDB, following EventHorizon's June 2020 item format:
  {s: S, v: N, meta_event: S|NULL, e: L of S|NULL}, v0 = StreamStarted meta item,
  lines "<ts> <Type> <userId> <impersonatorId> <backdateTs> <JSON>".

usage: eh_botocore.py ENDPOINT TABLE COMMAND ARGS...
  create-table
  write STREAM LINE...        append one item (creating the stream and its parents first)
  put-raw JSON_ITEM           put an attribute map as is (for malformed items)
  dump STREAM                 check every item of STREAM and print them as JSON; exit 1 on problems
  children STREAM             print the streams named by STREAM's ChildStreamCreated items
Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""
import datetime
import json
import os
import re
import sys

import botocore.session
from botocore.exceptions import ClientError

LINE = re.compile(r"^([^ ]+) ([^ ]+) ([^ ]*) ([^ ]*) ([^ ]*) (.+)$")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def client(endpoint):
    s = botocore.session.get_session()
    return s.create_client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                           aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def meta_line(kind, payload):
    return "%s %s    %s" % (now(), kind, json.dumps(payload, separators=(",", ":")))


def head(db, table, stream):
    r = db.query(TableName=table, KeyConditionExpression="s = :s",
                 ExpressionAttributeValues={":s": {"S": stream}}, ScanIndexForward=False, Limit=1,
                 ConsistentRead=True)
    return int(r["Items"][0]["v"]["N"]) if r["Items"] else None


def put(db, table, stream, version, meta=None, events=None):
    item = {"s": {"S": stream}, "v": {"N": str(version)},
            "meta_event": {"S": meta} if meta is not None else {"NULL": True},
            "e": {"L": [{"S": e} for e in events]} if events else {"NULL": True}}
    db.put_item(TableName=table, Item=item,
                ConditionExpression="attribute_not_exists(s) AND attribute_not_exists(v)")


def parent_of(stream):
    if stream == "/":
        return None
    p = stream.rsplit("/", 1)[0]
    return p or "/"


def ensure(db, table, stream):
    if head(db, table, stream) is not None:
        return
    parent = parent_of(stream)
    if parent is not None:
        ensure(db, table, parent)
    # dynalite has no TransactWriteItems: the child's v0 first, then the parent's link.
    put(db, table, stream, 0, meta=meta_line("StreamStarted", {"Parent": parent or ""}))
    if parent is not None:
        put(db, table, parent, head(db, table, parent) + 1,
            meta=meta_line("ChildStreamCreated", {"Stream": stream}))


def all_items(db, table, stream):
    items, after = [], -1
    while True:
        r = db.query(TableName=table, KeyConditionExpression="s = :s AND v > :v",
                     ExpressionAttributeValues={":s": {"S": stream}, ":v": {"N": str(after)}},
                     Limit=100, ConsistentRead=True)
        items += r["Items"]
        if not r["Items"] or "LastEvaluatedKey" not in r:
            return items
        after = int(r["Items"][-1]["v"]["N"])


def parse_line(line, where, problems):
    m = LINE.match(line)
    if not m:
        problems.append("%s: not an EventHorizon line: %r" % (where, line))
        return None
    ts, kind, user, imp, backdate, payload = m.groups()
    if not TS.match(ts):
        problems.append("%s: timestamp %r" % (where, ts))
    try:
        payload = json.loads(payload)
    except ValueError:
        problems.append("%s: payload is not JSON" % where)
    return {"type": kind, "user": user, "impersonator": imp, "backdate": backdate, "payload": payload}


def dump(db, table, stream):
    problems, out = [], []
    items = all_items(db, table, stream)
    for i, item in enumerate(items):
        v = int(item["v"]["N"])
        where = "%s@%d" % (stream, v)
        if v != i:
            problems.append("%s: want version %d (versions must be contiguous from 0)" % (where, i))
        if sorted(item.keys()) != ["e", "meta_event", "s", "v"]:
            problems.append("%s: attributes %s" % (where, sorted(item.keys())))
        meta, events = item.get("meta_event", {}), item.get("e", {})
        entry = {"v": v, "meta": None, "events": []}
        if "S" in meta:
            entry["meta"] = parse_line(meta["S"], where + " meta_event", problems)
            if events != {"NULL": True}:
                problems.append("%s: meta item with e=%r (want NULL)" % (where, events))
        else:
            if meta != {"NULL": True}:
                problems.append("%s: meta_event=%r" % (where, meta))
            if "L" not in events or not events["L"]:
                problems.append("%s: event item with e=%r" % (where, events))
            for j, e in enumerate(events.get("L", [])):
                if "S" not in e:
                    problems.append("%s: e[%d] is not S" % (where, j))
                    continue
                entry["events"].append(parse_line(e["S"], "%s e[%d]" % (where, j), problems))
        if v == 0 and (entry["meta"] is None or entry["meta"]["type"] != "StreamStarted"):
            problems.append("%s: v0 is not a StreamStarted meta item" % where)
        out.append(entry)
    if not items:
        problems.append("%s: no items" % stream)
    print(json.dumps({"entries": out, "problems": problems}))
    return 1 if problems else 0


def main(argv):
    endpoint, table, cmd, args = argv[1], argv[2], argv[3], argv[4:]
    db = client(endpoint)
    if cmd == "create-table":
        try:
            db.create_table(TableName=table,
                            AttributeDefinitions=[{"AttributeName": "s", "AttributeType": "S"},
                                                  {"AttributeName": "v", "AttributeType": "N"}],
                            KeySchema=[{"AttributeName": "s", "KeyType": "HASH"},
                                       {"AttributeName": "v", "KeyType": "RANGE"}],
                            BillingMode="PAY_PER_REQUEST")
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceInUseException":
                raise
        db.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
        return 0
    if cmd == "write":
        stream, lines = args[0], args[1:]
        ensure(db, table, stream)
        for _ in range(10):
            try:
                put(db, table, stream, head(db, table, stream) + 1, events=lines)
                print(head(db, table, stream))
                return 0
            except ClientError as e:
                if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        return 1
    if cmd == "put-raw":
        db.put_item(TableName=table, Item=json.loads(args[0]))
        return 0
    if cmd == "dump":
        return dump(db, table, args[0])
    if cmd == "children":
        for item in all_items(db, table, args[0]):
            m = item.get("meta_event", {}).get("S")
            if m and LINE.match(m).group(2) == "ChildStreamCreated":
                print(json.loads(LINE.match(m).group(6))["Stream"])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
