import { Router } from 'express';
import { createServiceApp, type ServiceContext } from '../../lib/http-app.js';
import { serviceNames } from '../../lib/config.js';
import { loadSigningKey } from './keys.js';
import { loginRoutes } from './login.js';
import { Forwarder } from './proxy.js';
import { forwardedRoutes } from './routes.js';
import { Tokens } from './tokens.js';
import { createUsers } from './users.js';

export async function buildApp(ctx: ServiceContext) {
  const key = loadSigningKey(ctx.config.signingKeyFile);
  if (key.demo)
    ctx.log.warn(
      { kid: key.kid },
      'no signing key given (GATEWAY_SIGNING_KEY_FILE): using a demo key generated at start; tokens die with this process and other gateway instances will not accept them',
    );
  const tokens = new Tokens(key);
  const forwarder = new Forwarder(ctx.registry, ctx.config.upstreamTimeoutMs);
  forwarder.watch(serviceNames.filter((service) => service !== 'gateway'));
  const routes = Router().use(
    loginRoutes({ tokens, users: await createUsers(), log: ctx.log }),
    forwardedRoutes(forwarder, tokens),
  );
  // Bodies pass through unread: the services parse (and limit) their own.
  return createServiceApp(ctx, routes, [], { parseBodies: false });
}
