import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Etcd } from '../../src/lib/etcd.js';
import { createLogger } from '../../src/lib/log.js';
import { ServiceView } from '../../src/lib/registry.js';
import { EtcdCluster } from '../support/etcd.js';
import { waitFor } from '../support/processes.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/**
 * The traps of watching etcd, each with the real thing: a ServiceView reaches etcd through a TCP hop that can
 * be cut or frozen, while the test changes the registry directly.
 */

let etcd: EtcdCluster;
let proxy: TcpProxy;
let view: ServiceView;
const direct = () => new Etcd(etcd.endpoints);
const register = (id: string) =>
  direct().put(`/pie/services/number-api/${id}`, JSON.stringify({ instanceId: id, url: `http://${id}` }));
const remove = (id: string) =>
  fetch(`${etcd.env}/v3/kv/deleterange`, {
    method: 'POST',
    body: JSON.stringify({ key: Buffer.from(`/pie/services/number-api/${id}`).toString('base64') }),
  });
const seen = () => view.instances.map((i) => i.instanceId).sort();
const sees = (...ids: string[]) => seen().join() === [...ids].sort().join();

beforeEach(async () => {
  etcd = await EtcdCluster.start();
  proxy = new TcpProxy(etcd.env);
  view = new ServiceView(new Etcd([await proxy.start()], 1000), createLogger({}, 'error'), 'number-api');
  await register('a');
  await waitFor('the view to see a', () => sees('a'));
});
afterEach(async () => {
  view.stop();
  await proxy.stop();
  await etcd.stop();
});

describe('a watched instance list', () => {
  it('follows registrations as they come and go, without polling', async () => {
    await register('b');
    await waitFor('b to appear', () => sees('a', 'b'));
    await remove('a');
    await waitFor('a to vanish', () => sees('b'));
  });

  it('keeps the last known instances while etcd is out of reach', async () => {
    proxy.cut();
    await new Promise((r) => setTimeout(r, 1500));
    expect(seen()).toEqual(['a']);
  });

  it('resumed from a revision compacted meanwhile, lists again rather than missing changes', async () => {
    proxy.cut();
    await register('b');
    await remove('a');
    await register('c');
    const { revision } = await direct().list('/');
    const compacted = await fetch(`${etcd.env}/v3/kv/compaction`, {
      method: 'POST',
      body: JSON.stringify({ revision: String(revision), physical: true }),
    });
    expect(compacted.ok).toBe(true);
    proxy.heal();
    await waitFor(
      'the view to list again',
      () => sees('b', 'c'),
      10_000,
      () => seen().join(),
    );
  });

  it('notices a stream that went silent (half-open connection) and watches again', async () => {
    proxy.freeze();
    await register('d');
    proxy.heal(); // new connections work; the frozen one stays dead, as a half-open connection does
    // Found by the progress check: nothing answered two progress requests in a row.
    await waitFor(
      'd to appear through a new stream',
      () => sees('a', 'd'),
      20_000,
      () => seen().join(),
    );
  });

  it('after etcd lost its data, lists again instead of waiting for revisions that will never come', async () => {
    const member = etcd.members[0];
    if (!member) throw new Error('no member');
    for (const id of ['b', 'c', 'd', 'e']) await register(id); // the old revision is ahead of the new etcd's
    await waitFor('five instances', () => seen().length === 5);
    await etcd.restartEmpty(member);
    await register('fresh');
    await waitFor(
      'only the fresh registration',
      () => sees('fresh'),
      15_000,
      () => seen().join(),
    );
  });
});
