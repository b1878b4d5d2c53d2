import { probePort } from './lib/config.js';

/**
 * The container healthcheck (there is no curl in the image): exits 0 when this container's service is ready,
 * otherwise says why on stderr, which `docker inspect` shows.
 */
const url = `http://127.0.0.1:${probePort()}/health/ready`;
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(2500) });
  if (!response.ok) console.error(`${url} answered ${response.status}: ${await response.text()}`);
  process.exit(response.ok ? 0 : 1);
} catch (err) {
  console.error(`${url} did not answer: ${(err as Error).message}`);
  process.exit(1);
}
