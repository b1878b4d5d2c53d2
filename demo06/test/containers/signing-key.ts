/**
 * The gateway's signing key in containers (run by the repository's containers layer: tools/containers/): compose
 * makes it once into a volume (the one-shot gateway-key service), so a restart of the gateway keeps it. Last of the
 * stage's checks (file name order), so that no other check meets a gateway just restarted.
 */
import { run } from '../../../tools/containers/docker.ts';
import { describe, expect, it, type StageChecks } from '../../../tools/containers/stage-checks.ts';
import { gatewayToken } from '../../../tools/lib/gateway-login.ts';

const checks: StageChecks = {
  define(running) {
    describe('the signing key', () => {
      it('stays across a restart of the gateway: a token given before is taken after', async () => {
        running.markFailure();
        const gateway = `http://127.0.0.1:${running.published.gateway}`;
        const kid = async () =>
          ((await (await fetch(`${gateway}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] })
            .keys[0]?.kid;
        const accessToken = await gatewayToken(gateway, 'bob');
        const before = await kid();
        const container = running.states.find((c) => c.service === 'gateway');
        expect(container, 'a gateway container').toBeDefined();
        const restarted = await run('docker', ['restart', container?.id ?? ''], { timeoutMs: 60_000 });
        expect(restarted.code, restarted.stderr).toBe(0);
        await running.waitHealthy(running.states.length, 120_000);
        expect(await kid()).toBe(before);
        const cart = await fetch(`${gateway}/api/carts`, {
          method: 'POST',
          headers: { authorization: `Bearer ${accessToken}` },
        });
        expect(cart.status).toBe(201);
        running.report.signingKey = { kid: before, keptAcrossRestart: true };
      }, 180_000);
    });
  },
};

export default checks;
