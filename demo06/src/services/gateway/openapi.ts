import { z } from 'zod';
import {
  invalid,
  jsonBody,
  type OpenApiDocument,
  operation,
  problem,
  serviceDocument,
} from '../../lib/openapi.js';
import { loginBody } from './login.js';
import { TOKEN_TTL_SECONDS } from './tokens.js';

const token = z
  .object({
    accessToken: z.string().meta({ description: 'A JWT (ES256), sent as `Authorization: Bearer <token>`.' }),
    tokenType: z.literal('Bearer'),
    expiresIn: z.literal(TOKEN_TTL_SECONDS).meta({ description: 'Seconds until the token expires.' }),
    user: z.object({ name: z.string(), role: z.enum(['customer', 'admin']) }),
  })
  .meta({ id: 'AccessToken' });

const keySet = z
  .object({
    keys: z
      .array(
        z
          .object({
            kty: z.literal('EC'),
            crv: z.literal('P-256'),
            x: z.string(),
            y: z.string(),
            kid: z.string(),
          })
          .catchall(z.string()),
      )
      .min(1),
  })
  .meta({ id: 'JsonWebKeySet' });

const tags = ['auth'];

export function gatewayDocument(): OpenApiDocument {
  return serviceDocument({
    service: 'gateway',
    summary: 'The single entry point',
    description: [
      'Issues tokens, checks them, and forwards `/api/**` to the services found in the registry, through the load balancer; every other GET goes to the storefront (web).',
      'Anyone may read the catalogs and the stock; carts need a `customer` token, catalog and stock changes an `admin` token (401 without a valid token, 403 with the wrong role). Inventory reservations and number-api are internal: 404 here.',
    ].join('\n\n'),
    tags: [{ name: 'auth', description: 'Tokens, and the key that checks them.' }],
    callsOthers: true,
    metricsApart: true,
    paths: {
      '/auth/token': {
        post: operation({
          operationId: 'issueToken',
          summary: 'Log in: a token for a user name and password',
          tags,
          requestBody: jsonBody(loginBody, 'A demo user (see the README) and its password.'),
          responses: {
            200: { description: 'A token, valid for 15 minutes.', json: token },
            400: invalid('The body is malformed, or a field is missing, too long or unknown.'),
            401: {
              description: 'The user name or password is wrong (the same answer for both).',
              problem,
              headers: { 'WWW-Authenticate': z.string().meta({ example: 'Bearer realm="pie"' }) },
            },
            429: {
              description: 'Too many attempts from this client: wait as long as Retry-After says.',
              problem,
              headers: { 'Retry-After': z.string().meta({ example: '42' }) },
            },
          },
        }),
      },
      '/.well-known/jwks.json': {
        get: operation({
          operationId: 'keySet',
          summary: 'The public key that checks the tokens (JWKS, RFC 7517)',
          tags,
          responses: { 200: { description: 'The public key only.', json: keySet } },
        }),
      },
    },
  });
}
