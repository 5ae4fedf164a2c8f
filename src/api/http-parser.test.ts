import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpRequestParser, MAX_HEAD_BYTES, type ParseEvent } from './http-parser.js';

const feed = (p: HttpRequestParser, ...chunks: string[]): ParseEvent[] => chunks.flatMap((c) => p.push(Buffer.from(c, 'latin1')));

test('requests split across chunks and pipelined in one chunk come out whole and in order', () => {
  const p = new HttpRequestParser();
  const all = 'PUT /drives/rootfs HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcdGET /?q=1 HTTP/1.1\r\n\r\n';
  const evs: ParseEvent[] = [];
  for (const ch of all) evs.push(...feed(p, ch));
  assert.equal(evs.length, 2);
  const [a, b] = evs.map((e) => (e.kind === 'request' ? e.request : assert.fail(e.kind)));
  assert.equal(a!.method, 'PUT');
  assert.equal(a!.path, '/drives/rootfs');
  assert.equal(a!.body?.toString(), 'abcd');
  assert.equal(a!.headers.get('host'), 'x');
  assert.equal(b!.path, '/');
  assert.equal(b!.body, undefined, 'no Content-Length: no body (Firecracker: None)');
});

test('absolute-form targets, keep-alive defaults and Connection: close', () => {
  const p = new HttpRequestParser();
  const [a, b, c] = feed(p, 'GET http://localhost/version HTTP/1.1\r\n\r\n', 'GET / HTTP/1.0\r\n\r\n', 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n')
    .map((e) => (e.kind === 'request' ? e.request : assert.fail(e.kind)));
  assert.equal(a!.path, '/version');
  assert.equal(a!.keepAlive, true);
  assert.equal(b!.keepAlive, false);
  assert.equal(c!.keepAlive, false);
});

test('Content-Length 0 is a request without a body', () => {
  const [e] = feed(new HttpRequestParser(), 'PUT /actions HTTP/1.1\r\nContent-Length: 0\r\n\r\n');
  assert.equal(e!.kind === 'request' && e.request.body, undefined);
});

test('fatal errors use micro_http\'s wording and stop the parser', () => {
  const cases: Array<[string, string | RegExp]> = [
    ['GARBAGE\r\n\r\n', 'Invalid request.'],
    ['GET / HTTP/2.0\r\n\r\n', 'Invalid HTTP Version: Unsupported HTTP version.'],
    ['G(T / HTTP/1.1\r\n\r\n', 'Invalid HTTP Method: Unsupported HTTP method.'],
    ['GET nowhere HTTP/1.1\r\n\r\n', 'Invalid URI: Unsupported URI format.'],
    ['GET / HTTP/1.1\r\nno colon\r\n\r\n', /^Invalid header\. Reason: Header is incorrectly formatted/],
    ['PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n', 'Invalid header. Reason: Invalid value. Key:Content-Length; Value:-1'],
    ['PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', /Invalid value. Key:Content-Length/],
    ['PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n', /^Invalid header\. Reason: Unsupported feature/],
    ['PUT / HTTP/1.1\r\nContent-Length: 51201\r\n\r\n', 'Request payload with size 51201 is larger than the limit of 51200 allowed by server.'],
  ];
  for (const [input, message] of cases) {
    const p = new HttpRequestParser();
    const evs = feed(p, input, 'GET / HTTP/1.1\r\n\r\n');
    assert.equal(evs.length, 1, input);
    assert.equal(evs[0]!.kind, 'error', input);
    const m = (evs[0] as { message: string }).message;
    if (typeof message === 'string') assert.equal(m, message, input);
    else assert.match(m, message, input);
    assert.ok(p.broken);
  }
});

test('the head is bounded: endless header bytes are refused without buffering them all', () => {
  const p = new HttpRequestParser();
  const evs = feed(p, 'GET / HTTP/1.1\r\n', 'X: ' + 'a'.repeat(MAX_HEAD_BYTES));
  assert.deepEqual(evs, [{ kind: 'error', message: 'Invalid request.' }]);
});

test('Expect: 100-continue asks for a 100 before the body, only when the body is acceptable', () => {
  let evs = feed(new HttpRequestParser(), 'PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n');
  assert.deepEqual(evs, [{ kind: 'continue' }]);
  evs = feed(new HttpRequestParser(10), 'PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 20\r\n\r\n');
  assert.equal(evs[0]!.kind, 'error');
});
