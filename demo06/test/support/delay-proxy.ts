import { createServer, request as httpRequest, type Server } from 'node:http';

/**
 * A real HTTP hop between two services that can hold back answers: the way to make a response arrive too
 * late (a lost answer) without touching either service.
 */
export class DelayProxy {
  /** Milliseconds to hold each response back before forwarding it. */
  delayMs = 0;
  /** Requests forwarded so far, by path. */
  readonly seen: string[] = [];
  /** Where requests go; may be set after start, once the target service has its port. */
  target = '';
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.seen.push(`${req.method} ${req.url}`);
      if (!this.target) {
        res.writeHead(502).end(); // no target yet: a proxy with nothing behind it
        return;
      }
      const target = new URL(this.target);
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => {
            setTimeout(() => {
              if (res.destroyed) return;
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(Buffer.concat(chunks));
            }, this.delayMs);
          });
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
