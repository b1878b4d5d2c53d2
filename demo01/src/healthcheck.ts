import { probePort } from './lib/config.js';

/** The container healthcheck (there is no curl in the image): exits 0 when this container's service is ready. */
try {
  const response = await fetch(`http://127.0.0.1:${probePort()}/health/ready`, {
    signal: AbortSignal.timeout(2500),
  });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
