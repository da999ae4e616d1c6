#!/usr/bin/python3
"""Checks our SigV4 signer against botocore on generated requests.

Usage: botocore_compare.py PATH_TO_sigv4_sign_json
The requests are generated here (seeded, so stable), fed to the C++ helper as JSON, and
signed again with botocore's SigV4Auth / S3SigV4Auth (headers) and SigV4QueryAuth /
S3SigV4QueryAuth (presigned URLs) at the same fixed time.
"""
import calendar
import datetime
import json
import random
import subprocess
import sys
import types
from unittest import mock
from urllib.parse import quote, urlsplit

import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials

FIXED = datetime.datetime(2026, 11, 25, 23, 59, 30)
EXPIRES = 900

METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD']
RAW_PATHS = [
    '/',
    '/bucket/key with space.txt',
    '/bucket/\u00fcn\u00efc\u00f6d\u00e9/\u0444\u0430\u0439\u043b \u1234',
    '/bucket/~user/a+b=c&d;e,f',
    '/bucket/dir/',
    '/bucket/a//b/./c/../d%e',
    '/2015-03-31/functions/my-fn/invocations',
    '/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f/invocations',
]
QUERIES = [
    [],
    [('b', '2'), ('a', '1')],
    [('tag', 'z'), ('tag', 'a'), ('tag', 'm'), ('Tag', 'B')],
    [('prefix', 'photos/2024 \u00fc~'), ('delimiter', '/'), ('empty', '')],
    [('Qualifier', '$LATEST'), ('x-id', 'Get Object')],
]
HEADER_SETS = [
    [],
    [('Content-Type', '  application/json ;   charset=utf-8  ')],
    [('X-Amz-Meta-Note', 'a   b\tc'), ('x-amz-meta-note', ' second ')],
    [('X-Custom-B', 'v'), ('x-custom-a', '"quoted   spaces"'), ('Range', 'bytes=0-99')],
]
BODIES = [b'', b'{"hello": "world"}', '\u00fcn\u00efc\u00f6d\u00e9 body\n'.encode()]
TOKENS = ['', 'FwoGZXIvYXdzEXAMPLE//////////wEaDN+token/with=chars']


class FixedDateTime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return FIXED


def make_cases(n=96):
    rng = random.Random(20261125)
    cases = []
    for i in range(n):
        service = 's3' if i % 2 == 0 else 'lambda'
        query = rng.choice(QUERIES)
        body = rng.choice(BODIES)
        cases.append({
            'name': 'case%02d' % i,
            'method': rng.choice(METHODS),
            'path': quote(rng.choice(RAW_PATHS), safe='/'),
            'query': query,
            'headers': [('Host', 'example-%s.amazonaws.com' % service)] + rng.choice(HEADER_SETS),
            'body': body.decode(),
            'unsigned_payload': i % 5 == 0,
            'service': service,
            'region': rng.choice(['us-east-1', 'eu-west-3']),
            'access_key': 'AKIDEXAMPLE',
            'secret': 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
            'token': TOKENS[(i // 2) % 2],
            'time': calendar.timegm(FIXED.timetuple()),
            'expires': EXPIRES,
            # botocore's presigner keeps one value per name and moves bodies into the query.
            'presign': not body and len({k for k, _ in query}) == len(query),
        })
    return cases


def creds(case):
    return botocore.credentials.Credentials(
        case['access_key'], case['secret'], case['token'] or None)


def base_request(case):
    req = botocore.awsrequest.AWSRequest(
        method=case['method'], url='https://%s%s' % (case['headers'][0][1], case['path']),
        data=case['body'].encode(), params=list(case['query']))
    for name, value in case['headers']:
        req.headers[name] = value  # appends, so repeated names stay repeated
    return req


def botocore_header_signing(case):
    s3 = case['service'] == 's3'
    signer = (botocore.auth.S3SigV4Auth if s3 else botocore.auth.SigV4Auth)(
        creds(case), case['service'], case['region'])
    req = base_request(case)
    if case['unsigned_payload']:
        if s3:
            req.context['client_config'] = botocore.config.Config(
                s3={'payload_signing_enabled': False})
        else:
            req.context['payload_signing_enabled'] = False
    seen = {}
    original = signer.canonical_request
    signer.canonical_request = lambda r: seen.setdefault('cr', original(r))
    signer.add_auth(req)
    added = {k.lower(): req.headers[k] for k in
             ('X-Amz-Date', 'X-Amz-Security-Token', 'X-Amz-Content-SHA256', 'Authorization')
             if k in req.headers}
    return seen['cr'], req.headers['Authorization'], added


def botocore_presign(case):
    s3 = case['service'] == 's3'
    signer = (botocore.auth.S3SigV4QueryAuth if s3 else botocore.auth.SigV4QueryAuth)(
        creds(case), case['service'], case['region'], expires=EXPIRES)
    req = base_request(case)
    req.params = dict(case['query'])
    req.data = b''
    signer.add_auth(req)
    return urlsplit(req.url).query


def main():
    cases = make_cases()
    proc = subprocess.run([sys.argv[1]], input=json.dumps(cases).encode(),
                          capture_output=True, check=True)
    ours = json.loads(proc.stdout)
    assert len(ours) == len(cases)
    failures = 0
    header_ok = presign_ok = presign_total = 0
    # botocore reads the clock only through datetime.datetime.utcnow() in botocore.auth.
    fake_datetime = types.SimpleNamespace(datetime=FixedDateTime)
    with mock.patch.object(botocore.auth, 'datetime', fake_datetime):
        for case, mine in zip(cases, ours):
            cr, auth, added = botocore_header_signing(case)
            mine_added = {k.lower(): v for k, v in mine['headers_to_add']}
            if (cr, auth, added) == (mine['canonical_request'], mine['authorization'], mine_added):
                header_ok += 1
            else:
                failures += 1
                print('MISMATCH (header) %s: %s\n--- botocore\n%s\n%s\n%s\n'
                      '--- ours\n%s\n%s\n%s\n' % (
                    case['name'], json.dumps(case, ensure_ascii=False), cr, auth, added,
                    mine['canonical_request'], mine['authorization'], mine_added))
            if case['presign']:
                presign_total += 1
                query = botocore_presign(case)
                if query == mine['presign_query']:
                    presign_ok += 1
                else:
                    failures += 1
                    print('MISMATCH (presign) %s: %s\n botocore: %s\n ours:     %s\n' % (
                        case['name'], json.dumps(case, ensure_ascii=False), query,
                        mine['presign_query']))
    print('botocore agreement: %d/%d header-signed, %d/%d presigned' % (
        header_ok, len(cases), presign_ok, presign_total))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
