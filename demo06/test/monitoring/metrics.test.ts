import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd } from '../../src/lib/etcd.js';
import { servicesPrefix } from '../../src/lib/registry.js';
import { request } from '../support/http.js';
import { freePort } from '../support/processes.js';
import { startStage, type TestStage } from '../support/stage.js';

// The services run in this process here, so they share its one metrics registry: what one of them answers on
// /metrics covers the requests of all of them.
let stage: TestStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(() => stage.stop());

const book = { title: 'Snow Crash', author: 'Neal Stephenson', year: 1992, price: 13.99, pages: 480 };

async function scrape(): Promise<string> {
  const response = await fetch(`${stage.url['book-api']}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** Every sample line: one per series. */
const seriesOf = (text: string) => text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));

/** The value of the one sample whose name and labels contain every part given. */
function value(text: string, ...parts: string[]): number {
  const lines = seriesOf(text).filter((line) => parts.every((part) => line.includes(part)));
  expect(lines, `one sample with ${parts.join(' ')}`).toHaveLength(1);
  return Number(lines[0]?.split(' ').pop());
}

describe('GET /metrics', () => {
  it("has the process's own metrics: memory, heap, event-loop lag, garbage collection", async () => {
    const text = await scrape();
    for (const name of [
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_gc_duration_seconds_bucket',
    ])
      expect(text).toContain(`\n${name}`);
  });

  it('counts each request under the route pattern that matched it, with its method and status', async () => {
    const read = '{http_request_method="GET",http_route="/api/books/:id",http_response_status_code="200"}';
    const missing = read.replace('"200"', '"404"');
    const before = await scrape();
    const count = (text: string, labels: string) =>
      text.includes(`_count${labels}`)
        ? value(text, `http_server_request_duration_seconds_count${labels}`)
        : 0;
    expect((await request('GET', `${stage.url['book-api']}/api/books/1`)).status).toBe(200);
    expect((await request('GET', `${stage.url['book-api']}/api/books/987654`)).status).toBe(404);
    const after = await scrape();
    expect(count(after, read)).toBe(count(before, read) + 1);
    expect(count(after, missing)).toBe(count(before, missing) + 1);
    expect(after).not.toContain('http_route="/api/books/1"');
  });

  it('times the calls to other services by the instance called and the outcome', async () => {
    const labels = (text: string) =>
      seriesOf(text).find((line) =>
        line.startsWith('http_client_request_duration_seconds_count{peer_service="number-api"'),
      );
    const before = await scrape();
    const created = await request('POST', `${stage.url['book-api']}/api/books`, { json: book });
    expect(created.status).toBe(201);
    const after = await scrape();
    expect(labels(after)).toMatch(/peer_instance="[^"]+",outcome="ok"\} \d+/);
    const countOf = (text: string) => Number(labels(text)?.split(' ').pop() ?? 0);
    expect(countOf(after)).toBe(countOf(before) + 1);
  });

  it('says how many instances of each service it knows from the registry', async () => {
    expect(value(await scrape(), 'pie_registry_instances{peer_service="number-api"}')).toBe(1);
  });

  it('counts a refused call, the ejection and the retry when an instance is dead', async () => {
    // A second number-api in the registry, at a port nothing listens on: a caller meets it in its rotation.
    const etcd = new Etcd(stage.etcd.endpoints);
    const dead = { service: 'number-api', instanceId: 'dead:1', url: `http://127.0.0.1:${await freePort()}` };
    const lease = await etcd.grant(30);
    await etcd.put(
      `${servicesPrefix}number-api/dead:1`,
      JSON.stringify({ ...dead, pid: 1, startedAt: '', version: '' }),
      lease,
    );
    const counter = (text: string, name: string) => {
      const line = seriesOf(text).find((l) => l.startsWith(`${name}{peer_service="number-api"}`));
      return Number(line?.split(' ').pop() ?? 0);
    };
    const refused = (text: string) =>
      Number(
        seriesOf(text)
          .find((l) =>
            l.startsWith(
              'http_client_request_duration_seconds_count{peer_service="number-api",peer_instance="dead:1",outcome="refused"}',
            ),
          )
          ?.split(' ')
          .pop() ?? 0,
      );
    try {
      await new Promise((resolve) => setTimeout(resolve, 300)); // the callers' watch sees it
      const before = await scrape();
      // Round-robin over two: one of two creates meets the dead instance first, is refused, retried elsewhere.
      for (let i = 0; i < 2; i++)
        expect((await request('POST', `${stage.url['book-api']}/api/books`, { json: book })).status).toBe(
          201,
        );
      const after = await scrape();
      expect(refused(after)).toBe(refused(before) + 1);
      expect(counter(after, 'pie_balancer_ejections_total')).toBe(
        counter(before, 'pie_balancer_ejections_total') + 1,
      );
      expect(counter(after, 'pie_balancer_retries_total')).toBe(
        counter(before, 'pie_balancer_retries_total') + 1,
      );
    } finally {
      await etcd.revoke(lease);
    }
  });

  it('adds no series for 1,000 requests to random unknown paths and ids', async () => {
    const random = () => Math.floor(Math.random() * 1e9) + 1000;
    const unknown = () => [
      fetch(`${stage.url['book-api']}/no/such/${random()}`),
      fetch(`${stage.url['book-api']}/api/books/${random()}`),
      fetch(`${stage.url['book-api']}/api/books/${random()}x`),
      fetch(`${stage.url['book-api']}/${random()}`, { method: 'PATCH' }),
    ];
    // Once first, so that each kind of answer has its series; then 1,000 more must add none.
    await Promise.all(unknown());
    const before = seriesOf(await scrape()).filter((line) => line.startsWith('http_server'));
    for (let i = 0; i < 250; i++) await Promise.all(unknown());
    const after = seriesOf(await scrape()).filter((line) => line.startsWith('http_server'));
    const names = (lines: string[]) => lines.map((line) => line.slice(0, line.lastIndexOf(' ')));
    expect(names(after)).toEqual(names(before));
    expect(after.join('\n')).toContain('http_route="unmatched"');
  });
});
