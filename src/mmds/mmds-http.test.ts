import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MmdsDataStore, type MmdsVersion } from './data-store.js';
import { responseBytes } from './http-message.js';
import { fromPlain } from './json-value.js';
import { mmdsRespond, sanitizeUri, type MmdsService } from './mmds-http.js';
import { newMmdsMetrics } from './mmds-metrics.js';
import { TokenAuthority } from './token-authority.js';

function service(version: MmdsVersion, clock = { t: 0 }): MmdsService & { clock: { t: number } } {
  const store = new MmdsDataStore();
  store.put(fromPlain({ latest: { 'meta-data': { 'ami-id': 'ami-87654321', 'reservation-id': 'r-79054aef' } } }));
  return { store, version, tokens: new TokenAuthority(() => clock.t), metrics: newMmdsMetrics(), clock };
}

/** What a guest reads back for these request bytes. */
function ask(svc: MmdsService, req: string): string {
  return responseBytes(mmdsRespond(svc, Buffer.from(req, 'latin1'))).toString('latin1');
}

const curlGet = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: 169.254.169.254\r\nUser-Agent: curl/8.14.1\r\nAccept: */*\r\n${extra}\r\n`;

describe('MMDS HTTP (Firecracker\'s answers, byte for byte)', () => {
  it('V1: GET answers IMDS text by default and JSON on Accept: application/json, counting missing tokens', () => {
    const svc = service('V1');
    assert.equal(
      ask(svc, curlGet('/latest/meta-data/ami-id')),
      'HTTP/1.1 200 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nami-87654321',
    );
    assert.equal(ask(svc, curlGet('/latest/meta-data')).split('\r\n\r\n')[1], 'ami-id\nreservation-id');
    const json = ask(svc, 'GET http://169.254.169.254//latest//meta-data HTTP/1.0\r\nAccept: application/json\r\n\r\n');
    assert.ok(json.startsWith('HTTP/1.0 200 \r\n'));
    assert.ok(json.includes('Content-Type: application/json\r\n'));
    assert.ok(json.endsWith('{"ami-id":"ami-87654321","reservation-id":"r-79054aef"}'));
    assert.equal(svc.metrics.rxNoToken, 3);
    ask(svc, curlGet('/latest', 'X-metadata-token: bogus\r\n'));
    assert.equal(svc.metrics.rxInvalidToken, 1);
  });

  it('V2: no token is 401, a bad one is 401, a fresh one works until it expires', () => {
    const svc = service('V2');
    const none = ask(svc, curlGet('/latest/meta-data/ami-id'));
    assert.equal(
      none,
      'HTTP/1.1 401 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\nContent-Type: text/plain\r\nContent-Length: 113\r\n\r\nNo MMDS token provided. Use `X-metadata-token` or `X-aws-ec2-metadata-token` header to specify the session token.',
    );
    assert.ok(ask(svc, curlGet('/latest', 'X-metadata-token: nope\r\n')).endsWith('\r\n\r\nMMDS token not valid.'));
    const put = ask(svc, 'PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\nAccept: */*\r\nX-metadata-token-ttl-seconds: 2\r\n\r\n');
    const [head, token] = put.split('\r\n\r\n');
    assert.ok(head.startsWith('HTTP/1.1 200 \r\n'));
    assert.ok(head.includes('\r\nX-metadata-token-ttl-seconds: 2\r\n'), head);
    assert.match(token, /^[A-Za-z0-9+/=]{48}$/);
    assert.ok(ask(svc, curlGet('/latest/meta-data/ami-id', `x-aws-ec2-metadata-token: ${token}\r\n`)).endsWith('\r\n\r\nami-87654321'));
    svc.clock.t += 2000;
    assert.ok(ask(svc, curlGet('/latest/meta-data/ami-id', `X-metadata-token: ${token}\r\n`)).startsWith('HTTP/1.1 401 '));
  });

  it('token requests: TTL missing, malformed or out of range, X-Forwarded-For, another path', () => {
    const svc = service('V2');
    const put = (h: string, path = '/latest/api/token'): string => ask(svc, `PUT ${path} HTTP/1.1\r\n${h}\r\n`);
    assert.ok(put('').endsWith("\r\n\r\nToken time to live value not found. Use `X-metadata-token-ttl-seconds` or `X-aws-ec2-metadata-token-ttl-seconds` header to specify the token's lifetime."));
    assert.ok(put('X-metadata-token-ttl-seconds: -5\r\n').endsWith('\r\n\r\nInvalid header. Reason: Invalid value. Key:X-metadata-token-ttl-seconds; Value:-5'));
    assert.ok(put('X-metadata-token-ttl-seconds: 0\r\n').endsWith('Please provide a value between 1 and 21600.'));
    assert.ok(put('X-metadata-token-ttl-seconds: 5\r\nX-Forwarded-For: 1.2.3.4\r\n').endsWith('\r\n\r\nInvalid header. Reason: Unsupported header name. Key: X-Forwarded-For'));
    assert.ok(put('X-metadata-token-ttl-seconds: 5\r\n', '/latest/meta-data').startsWith('HTTP/1.1 404 '));
    assert.ok(put('X-metadata-token-ttl-seconds: 5\r\n', '/latest/meta-data').endsWith('Resource not found: /latest/meta-data.'));
  });

  it('other methods, versions and malformed requests get micro_http\'s status and message', () => {
    const svc = service('V1');
    const patch = ask(svc, 'PATCH /latest HTTP/1.1\r\n\r\n');
    assert.equal(patch, 'HTTP/1.1 405 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\nAllow: GET, PUT\r\nContent-Type: text/plain\r\nContent-Length: 24\r\n\r\nNot allowed HTTP method.');
    assert.equal(ask(svc, 'POST /latest HTTP/1.1\r\n\r\n'), 'HTTP/1.1 501 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: 45\r\n\r\nInvalid HTTP Method: Unsupported HTTP method.');
    assert.ok(ask(svc, 'GET /latest HTTP/2.0\r\n\r\n').endsWith('\r\n\r\nInvalid HTTP Version: Unsupported HTTP version.'));
    assert.ok(ask(svc, 'GET /x\n\n').startsWith('HTTP/1.1 400 '));
    assert.ok(ask(svc, 'GET /x\n\n').endsWith('\r\n\r\nInvalid request.'));
    assert.ok(ask(svc, 'GET latest HTTP/1.1\r\n\r\n').endsWith('\r\n\r\nInvalid URI.'));
    assert.ok(ask(svc, 'GET /latest HTTP/1.1\r\nContent-Length: x\r\n\r\n').endsWith('Invalid header. Reason: Invalid value. Key:Content-Length; Value: x'));
    assert.ok(ask(svc, 'GET /latest HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc').endsWith('\r\n\r\nInvalid request.'));
    assert.ok(ask(svc, 'GET /latest HTTP/1.1\r\nNoColon\r\n\r\n').endsWith('Invalid header. Reason: Header is incorrectly formatted. Key: NoColon'));
    assert.ok(ask(svc, curlGet('/latest/nothing')).endsWith('\r\n\r\nResource not found: /latest/nothing.'));
    assert.ok(ask(svc, 'GET /latest/meta-data/ami-id HTTP/1.1\r\n\r\n').endsWith('ami-87654321'), 'no headers at all');
  });

  it('sanitizes URIs as Firecracker does', () => {
    assert.equal(sanitizeUri('///////a//b///c//d'), '/a/b/c/d');
    assert.equal(sanitizeUri('aa//'), 'aa/');
  });
});
