import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP hop in front of etcd that can fail the way networks do: `cut()` resets every connection and refuses
 * new ones (a member gone), `freeze()` keeps connections open but lets nothing through (a half-open connection,
 * a stuck member), `heal()` lets new connections through again.
 */
export class TcpProxy {
  private server?: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  private mode: 'open' | 'cut' | 'frozen' = 'open';
  private readonly target: URL;

  constructor(target: string) {
    this.target = new URL(target);
  }

  async start(): Promise<string> {
    this.server = createServer((client) => {
      if (this.mode === 'cut') return client.resetAndDestroy();
      const upstream = createConnection({ host: this.target.hostname, port: Number(this.target.port) });
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      for (const [from, to] of [pair, [upstream, client] as const]) {
        from.on('data', (chunk: Buffer) => {
          if (this.mode !== 'frozen') to.write(chunk);
        });
        from.on('error', () => to.destroy());
        from.on('close', () => {
          to.destroy();
          this.pairs.delete(pair);
        });
      }
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  cut(): void {
    this.mode = 'cut';
    for (const [client, upstream] of this.pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
  }

  freeze(): void {
    this.mode = 'frozen';
  }

  /** New connections go through again; connections frozen so far stay dead, as half-open ones do. */
  heal(): void {
    if (this.mode === 'frozen') {
      for (const [client, upstream] of this.pairs) {
        client.removeAllListeners('data');
        upstream.removeAllListeners('data');
      }
    }
    this.mode = 'open';
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
