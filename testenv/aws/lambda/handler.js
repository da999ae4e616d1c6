// Test functions: `echo` returns the event it got (v1 response shape with multiValueHeaders),
// `echov2` a v2 response with cookies and a binary body, `fail` throws, `raw` returns a
// plain object without statusCode (API Gateway v2 then answers 200 with the JSON as body),
// `slow` answers after 4 s (for the data plane's timeout).
'use strict';

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
