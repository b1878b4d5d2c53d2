// The physical-limit baselines: `node tools/bench/baseline-server.mjs http|express|proxy <port>`. A bare
// `node:http` server, or the same through bare `express`, answering every request with one fixed JSON body; no
// logging, no validation, nothing else. `proxy <port>`: a bare `node:http` reverse proxy (keep-alive, streaming
// both ways, nothing else) in front of the server on <port>: what one hop costs at least, the floor of a gateway.
// It listens on a free loopback port and prints `LISTENING <port>`.
// Plain JavaScript, as the stages' services run (compiled): Node's TypeScript stripping would add some 15 MiB
// to its memory and make the comparison unfair.
import { Agent, createServer, request } from 'node:http';
import express from 'express';

const body = JSON.stringify({
  id: 1,
  title: 'The Hitchhiker’s Guide to the Galaxy',
  author: 'Douglas Adams',
  year: 1979,
  price: 9.99,
  isbn: '9780330258647',
});

const kind = process.argv[2];
let server;
if (kind === 'http') {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(body);
  });
} else if (kind === 'express') {
  const app = express();
  app.get('/{*path}', (_req, res) => {
    res.type('application/json').send(body);
  });
  server = createServer(app);
} else if (kind === 'proxy' && Number(process.argv[3]) > 0) {
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  const port = Number(process.argv[3]);
  server = createServer((req, res) => {
    const upstream = request(
      { agent, host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    // Enough for a baseline: a failure before the answer is a 502, one after it a cut answer.
    upstream.once('error', () => {
      if (!res.headersSent) res.statusCode = 502;
      res.end();
    });
    res.once('close', () => upstream.destroy());
    req.pipe(upstream);
  });
} else {
  console.error('usage: node tools/bench/baseline-server.mjs http|express|proxy <port>');
  process.exit(2);
}
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`LISTENING ${typeof address === 'object' && address ? address.port : ''}`);
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
