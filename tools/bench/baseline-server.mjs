// The physical-limit baselines: `node tools/bench/baseline-server.mjs http|express`. A bare `node:http` server,
// or the same through bare `express`, answering every request with one fixed JSON body; no logging, no
// validation, nothing else. It listens on a free loopback port and prints `LISTENING <port>`.
// Plain JavaScript, as the stages' services run (compiled): Node's TypeScript stripping would add some 15 MiB
// to its memory and make the comparison unfair.
import { createServer } from 'node:http';
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
} else {
  console.error('usage: node tools/bench/baseline-server.mjs http|express');
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
