import { describe, expect, it } from 'vitest';
import { stage } from '../../src/lib/stage.js';
import { registeredInstances } from '../support/etcd.js';
import { request } from '../support/http.js';
import { isReady, waitFor } from '../support/processes.js';
import { createBook, registry, startService } from '../support/services.js';

/** Services as processes, registering in a real etcd: what `npm start` and the containers do. */

/** Milliseconds until `check` holds, polled every 10 ms, or a failure after `limitMs`. */
async function msUntil(what: string, check: () => Promise<boolean>, limitMs: number): Promise<number> {
  const started = performance.now();
  await waitFor(what, check, limitMs);
  return Math.round(performance.now() - started);
}

describe('registration in etcd', () => {
  it('registers on start with how to reach it, and callers find it by name', async () => {
    const etcd = await registry();
    const number = await startService('number-api', etcd);
    const book = await startService('book-api', etcd);
    await waitFor('book-api ready', () => isReady(book.url), 15_000, book.output);
    const [kv] = (
      (await fetch(`${etcd.env}/v3/kv/range`, {
        method: 'POST',
        body: JSON.stringify({
          key: Buffer.from(`/pie/services/number-api/`).toString('base64'),
          range_end: Buffer.from('/pie/services/number-api0').toString('base64'),
        }),
      }).then((r) => r.json())) as { kvs: { key: string; value: string; lease: string }[] }
    ).kvs;
    expect(Buffer.from(kv?.key ?? '', 'base64').toString()).toBe(
      `/pie/services/number-api/${number.instanceId}`,
    );
    expect(kv?.lease).toMatch(/^\d+$/); // attached to a lease: it cannot outlive its instance
    expect(JSON.parse(Buffer.from(kv?.value ?? '', 'base64').toString())).toMatchObject({
      service: 'number-api',
      url: number.url,
      pid: number.child.pid,
      version: stage.stage,
      startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const created = await createBook(book.url);
    expect(created.status).toBe(201);
    expect(created.body.isbn).toMatch(/^978\d{10}$/);
  });

  it('on SIGTERM revokes its lease: the key is gone in under a second', async () => {
    const etcd = await registry();
    const number = await startService('number-api', etcd);
    await waitFor('number-api ready', () => isReady(number.url), 15_000, number.output);
    number.child.kill('SIGTERM');
    const ms = await msUntil(
      'the key to vanish',
      async () => (await registeredInstances(etcd.env, 'number-api')).length === 0,
      1000,
    );
    console.log(`deregistered ${ms} ms after SIGTERM`);
    expect(await number.exited).toBe(0);
    expect(number.output()).toContain('"msg":"deregistered"');
  });

  it('killed with SIGKILL, its key expires within the TTL and callers answer 503 naming it', async () => {
    const etcd = await registry();
    const number = await startService('number-api', etcd, { REGISTRY_TTL_SECONDS: '4' });
    const book = await startService('book-api', etcd);
    await waitFor('book-api ready', () => isReady(book.url), 15_000, book.output);
    number.child.kill('SIGKILL');
    expect(await registeredInstances(etcd.env, 'number-api')).toHaveLength(1); // nobody said goodbye
    const ms = await msUntil(
      'the lease to expire',
      async () => (await registeredInstances(etcd.env, 'number-api')).length === 0,
      4000 + 1000,
    );
    console.log(`expired ${ms} ms after SIGKILL (TTL 4 s)`);
    await waitFor(
      'book-api to see it gone',
      async () => (await createBook(book.url)).body.detail === 'number-api has no registered instance',
    );
  });

  it('started before etcd: not ready, says why, keeps trying, registers once etcd is up', async () => {
    const etcd = await registry(1, false);
    const number = await startService('number-api', etcd);
    await waitFor(
      'the log line',
      () => number.output().includes('etcd unreachable: not registered yet, retrying'),
      15_000,
      number.output,
    );
    const ready = await request('GET', `${number.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.reason).toContain('not registered in etcd yet');
    const member = etcd.members[0];
    if (!member) throw new Error('no member');
    await etcd.startMember(member);
    await waitFor('number-api ready', () => isReady(number.url), 15_000, number.output);
    expect(await registeredInstances(etcd.env, 'number-api')).toHaveLength(1);
  });

  it('etcd lost: keeps serving with what it knew; etcd back with no data: registers again, found again', async () => {
    const etcd = await registry();
    const member = etcd.members[0];
    if (!member) throw new Error('no member');
    const number = await startService('number-api', etcd);
    const book = await startService('book-api', etcd);
    await waitFor('book-api ready', () => isReady(book.url), 15_000, book.output);
    await etcd.stopMember(member, 'SIGKILL');
    expect((await createBook(book.url)).status).toBe(201); // the last known number-api
    expect((await request('GET', `${number.url}/health/ready`)).status).toBe(200);
    await etcd.restartEmpty(member);
    await waitFor(
      'number-api to register again',
      async () => (await registeredInstances(etcd.env, 'number-api')).length === 1,
      15_000,
      number.output,
    );
    // Its log lines leave it in batches (every 10 ms at most): the line may come a little after the key.
    await waitFor(
      'number-api to say why',
      () => number.output().includes('"msg":"registration expired; registering again"'),
      5_000,
      number.output,
    );
    await waitFor(
      'book-api registered again too',
      async () => (await registeredInstances(etcd.env, 'book-api')).length === 1,
    );
    expect((await createBook(book.url)).status).toBe(201);
  });
});

describe('a 3-member etcd cluster', () => {
  it('loses its leader: registrations stay alive, lookups and new registrations go on', async () => {
    const etcd = await registry(3);
    await startService('number-api', etcd, { REGISTRY_TTL_SECONDS: '3' });
    const book = await startService('book-api', etcd, { REGISTRY_TTL_SECONDS: '3' });
    await waitFor('book-api ready', () => isReady(book.url), 15_000, book.output);
    const leader = await etcd.leader();
    await etcd.stopMember(leader, 'SIGKILL');
    const survivor = etcd.members.find((m) => m !== leader)?.clientUrl ?? '';
    await new Promise((r) => setTimeout(r, 4500)); // longer than the TTL: only kept-alive leases are left
    expect(await registeredInstances(survivor, 'number-api')).toHaveLength(1);
    expect(await registeredInstances(survivor, 'book-api')).toHaveLength(1);
    expect((await createBook(book.url)).status).toBe(201);
    const cd = await startService('cd-api', etcd);
    await waitFor(
      'cd-api ready with the cluster short of a member',
      () => isReady(cd.url),
      15_000,
      cd.output,
    );
    expect(await registeredInstances(survivor, 'cd-api')).toHaveLength(1);
  });
});
