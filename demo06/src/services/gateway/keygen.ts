import { ensureSigningKeyFile } from './keys.js';

/**
 * `node dist/services/gateway/keygen.js <file>`: writes a new signing key to <file> unless one is there, and
 * exits. docker-compose.yml runs it once, before the gateway, into the volume every gateway reads: they sign with
 * the same key, and a restart logs nobody out. On the cluster the play makes a Swarm secret instead.
 */
const file = process.argv[2];
if (file === undefined || file === '') {
  console.error('usage: node dist/services/gateway/keygen.js <file>');
  process.exit(2);
}
try {
  const { kid, written } = ensureSigningKeyFile(file);
  console.log(`signing key ${file} ${written ? 'written' : 'kept'} (kid ${kid})`);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
