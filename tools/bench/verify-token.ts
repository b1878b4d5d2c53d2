// `node tools/bench/verify-token.ts [--iterations N] [--runs N]`
//
// How long the gateway takes to verify a valid access token (Tokens.verify of the newest stage with a gateway: the checks before the
// signature, jsonwebtoken's checks, the claims), the cost every authenticated request pays. The bare ES256
// signature check of node:crypto is measured too: the floor, to show what the rest costs.
// Each figure is the median of the runs, each run the mean of N verifies after a warm-up. Printed, never
// asserted: timings depend on the machine.
import { type KeyObject, sign, verify as verifySignature } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { hasGateway } from '../lib/ports.ts';
import { ensureInstalled } from '../lib/stage-process.ts';
import { existingStages, repoRoot } from '../stage/stages.ts';
import { machine } from './machine.ts';
import { median } from './stats.ts';

// The newest stage's gateway, loaded from its own source with its own node_modules (installed first): the root's
// typecheck does not see a stage's dependencies, so the import is by path, at run time.
const root = repoRoot();
const stage = existingStages(root).findLast((s) => hasGateway(join(root, s)));
if (stage === undefined) {
  console.error('no stage has a gateway yet');
  process.exit(2);
}
ensureInstalled(join(root, stage));
const gatewayModule = (file: string) =>
  import(pathToFileURL(join(root, stage, 'src/services/gateway', file)).href);
interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}
interface Tokens {
  issue(user: { name: string; role: 'customer' | 'admin' }): { accessToken: string };
  verify(token: string): unknown;
}
const { loadSigningKey } = (await gatewayModule('keys.ts')) as { loadSigningKey: () => SigningKey };
const { Tokens } = (await gatewayModule('tokens.ts')) as { Tokens: new (key: SigningKey) => Tokens };

const { values } = parseArgs({
  options: { iterations: { type: 'string', default: '20000' }, runs: { type: 'string', default: '5' } },
});
const iterations = Number(values.iterations);
const runs = Number(values.runs);
if (!Number.isInteger(iterations) || iterations < 1 || !Number.isInteger(runs) || runs < 1) {
  console.error('usage: node tools/bench/verify-token.ts [--iterations N ≥ 1] [--runs N ≥ 1]');
  process.exit(2);
}

const key = loadSigningKey();
const tokens = new Tokens(key);
const { accessToken } = tokens.issue({ name: 'alice', role: 'customer' });
const [header, payload] = accessToken.split('.');
const signedPart = Buffer.from(`${header}.${payload}`);
// DER, as jsonwebtoken hands it to OpenSSL (a JWT carries the raw r‖s form, which jwa converts).
const derSignature = sign('sha256', signedPart, key.privateKey);

/** µs per call: the median over the runs of each run's mean, after a warm-up of a tenth of a run. */
function measure(name: string, call: () => unknown): number {
  for (let i = 0; i < Math.max(200, iterations / 10); i++) call();
  const perRun: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) call();
    perRun.push(Number(process.hrtime.bigint() - started) / 1000 / iterations);
  }
  const us = median(perRun) ?? Number.NaN;
  const spread = `${Math.min(...perRun).toFixed(1)}–${Math.max(...perRun).toFixed(1)}`;
  console.log(`${name.padEnd(44)} ${us.toFixed(1).padStart(6)} µs per verify  (runs: ${spread} µs)`);
  return us;
}

const { cpu, cores, node } = machine();
console.log(
  `verify a valid ES256 access token: ${runs} runs × ${iterations} verifies, ${cpu} (${cores} cores), Node ${node}`,
);
// A logged-in user's requests carry the same token: after its first check, it is found among the verified ones.
const us = measure('Tokens.verify, a token seen before (the gateway)', () => tokens.verify(accessToken));
// Its first check: every step, the signature included (a fresh verifier each time, so nothing is remembered).
measure('Tokens.verify, a token seen first', () => new Tokens(key).verify(accessToken));
measure('  ES256 signature alone (node:crypto)', () =>
  verifySignature('sha256', signedPart, key.publicKey, derSignature),
);
console.log(
  `goal: ≤ 25 µs per verify; measured ${us.toFixed(1)} µs (${us <= 25 ? 'within' : 'above'} the goal)`,
);
