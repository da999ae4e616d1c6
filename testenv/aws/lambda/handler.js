// Test functions: `echo` returns the event it got (v1 response shape with multiValueHeaders),
// `echov2` a v2 response with cookies and a binary body, `fail` throws, `raw` returns a
// plain object without statusCode (API Gateway v2 then answers 200 with the JSON as body),
// `slow` answers after 4 s (for the data plane's timeout), `text` a deterministic body of
// `?size=` bytes with the `?type=` Content-Type and `?cc=` Cache-Control (the compression tests),
// `turbo` is a turbocharger origin:
// while the file turbo-advertise next to this handler holds a manifest id, its /static...
// answers advertise "turbocharger: /static <id>"; every invocation appends "<method> <path>" to
// turbo-requests.log there (what reached the function, for the tests).
'use strict';

const fs = require('fs');
const path = require('path');

module.exports.echo = async (event) => ({
  statusCode: 200,
  headers: { 'Content-Type': 'application/json', 'X-Fn': 'echo' },
  multiValueHeaders: { 'X-Multi': ['a', 'b'] },
  body: JSON.stringify(event),
});

module.exports.echov2 = async (event) => ({
  statusCode: 201,
  headers: { 'content-type': 'application/octet-stream', 'x-event': Buffer.from(JSON.stringify(event)).toString('base64') },
  cookies: ['a=1; Path=/', 'b=2'],
  isBase64Encoded: true,
  body: Buffer.from([0, 1, 2, 255, 254]).toString('base64'),
});

module.exports.fail = async () => {
  const err = new Error('boom');
  err.name = 'TestFailure';
  throw err;
};

module.exports.raw = async (event) => ({ hello: 'world', path: event.rawPath });

module.exports.slow = async () => {
  await new Promise((resolve) => setTimeout(resolve, 4000));
  return { statusCode: 200, body: 'late' };
};

module.exports.text = async (event) => {
  const q = event.queryStringParameters || {};
  const size = parseInt(q.size || '5000', 10);
  const lines = [];
  for (let i = 0, n = 0; n < size; i++) {
    lines.push(`line ${i} of a body the data plane may compress\n`);
    n += lines[lines.length - 1].length;
  }
  const headers = { 'Content-Type': q.type || 'text/plain; charset=utf-8', ETag: '"fn-text"' };
  if (q.cc) headers['Cache-Control'] = q.cc;
  return { statusCode: 200, headers, body: lines.join('').slice(0, size) };
};

module.exports.turbo = async (event) => {
  fs.appendFileSync(path.join(__dirname, 'turbo-requests.log'), `${event.httpMethod} ${event.path}\n`);
  let id = '';
  try {
    id = fs.readFileSync(path.join(__dirname, 'turbo-advertise'), 'utf8').trim();
  } catch (e) {
    // no file: not advertising
  }
  const headers = { 'Content-Type': 'text/plain' };
  if (id !== '' && event.path.startsWith('/static')) headers.turbocharger = `/static ${id}`;
  return { statusCode: 200, headers, body: `function ${event.path}` };
};
