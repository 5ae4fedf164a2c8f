#!/usr/bin/env node
// The host side of `npm run bench -- net`: an HTTP server the guest downloads from and uploads to,
// timing each transfer on the host. Run by bench/net.mjs inside the bench's network namespace.
//   GET /blob?n=BYTES  sends BYTES bytes; timed from the request to the guest closing the connection
//                      (busybox wget closes once it has read everything)
//   POST /upload       reads the body; timed from the request to its last byte
// Each finished transfer is one JSON line on stdout: {"dir":"down"|"up","bytes":N,"seconds":S}.
// argv: HOST PORT. Prints "PEER-READY" when listening.
import { createServer } from 'node:http';

const [host, port] = process.argv.slice(2);
const chunk = Buffer.alloc(1 << 20, 0x5a);

createServer((req, res) => {
  const t0 = performance.now();
  const url = new URL(req.url, 'http://x');
  if (req.method === 'GET' && url.pathname === '/blob') {
    const n = Number(url.searchParams.get('n'));
    res.writeHead(200, { 'content-length': n, 'content-type': 'application/octet-stream', connection: 'close' });
    let left = n;
    const pump = () => {
      while (left > 0) {
        const k = Math.min(left, chunk.length);
        left -= k;
        if (!res.write(k === chunk.length ? chunk : chunk.subarray(0, k))) { res.once('drain', pump); return; }
      }
      res.end();
    };
    req.socket.once('close', () => console.log(JSON.stringify({ dir: 'down', bytes: n, seconds: (performance.now() - t0) / 1000 })));
    pump();
  } else if (req.method === 'POST' && url.pathname === '/upload') {
    let n = 0;
    req.on('data', (d) => (n += d.length));
    req.on('end', () => {
      console.log(JSON.stringify({ dir: 'up', bytes: n, seconds: (performance.now() - t0) / 1000 }));
      res.writeHead(200, { 'content-length': 2, connection: 'close' }).end('ok');
    });
  } else {
    res.writeHead(404).end();
  }
}).listen(Number(port), host, () => console.log('PEER-READY'));
