import { readFileSync, writeFileSync } from 'node:fs';
import { loadSigningKey } from './src/services/gateway/keys.ts';
import { Tokens, TokenRefused } from './src/services/gateway/tokens.ts';
import { jwks } from './src/services/gateway/keys.ts';
const mode = process.argv[2];
if (mode === 'issue') {
  const key = loadSigningKey();
  const pem = key.privateKey.export({ type: 'pkcs8', format: 'pem' });
  writeFileSync('/tmp/docs06/key.pem', pem);
  const t = new Tokens(key);
  console.log(t.issue({ name: 'alice', role: 'customer' }).accessToken);
  writeFileSync('/tmp/docs06/jwks.json', JSON.stringify(jwks(key)));
} else {
  const key = loadSigningKey('/tmp/docs06/key.pem');
  const t = new Tokens(key);
  try { console.log(JSON.stringify(t.verify(process.argv[3] ?? ''))); }
  catch (e) { console.log(e instanceof TokenRefused ? 'REFUSED: ' + e.reason : 'ERR ' + e); }
}
