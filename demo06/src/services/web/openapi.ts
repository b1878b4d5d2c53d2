import { z } from 'zod';
import { serviceNames } from '../../lib/config.js';
import { type OpenApiDocument, operation, problem, serviceDocument } from '../../lib/openapi.js';

const url = z
  .string()
  .regex(/^https?:\/\/\S+$/)
  .meta({ example: 'http://localhost:8081' });

export const storefrontConfig = z
  .object({
    stage: z.object({ stage: z.string(), number: z.int().min(0), title: z.string() }),
    apis: z.object({ book: url, cd: url, dvd: url, inventory: url, cart: url }).meta({
      description: 'Where the browser calls each API: the gateway the page came from.',
    }),
    auth: z
      .object({ token: url.meta({ example: 'http://localhost:9000/auth/token' }) })
      .meta({ description: 'Where the browser logs in (POST a user name and password for a token).' }),
    documents: z
      .object(Object.fromEntries(serviceNames.map((service) => [service, url])))
      .meta({ description: "Where each service's OpenAPI document is, for the API page." }),
  })
  .meta({ id: 'StorefrontConfig' });

const scrapeTargets = z
  .array(
    z.object({
      targets: z.array(z.string().meta({ example: 'localhost:8081' })).length(1),
      labels: z.object({
        service: z.enum(serviceNames),
        instance_id: z.string().meta({ example: 'vm:8081' }),
      }),
    }),
  )
  .meta({ id: 'ScrapeTargets' });

const file = z.object({
  file: z
    .string()
    .regex(/^[\w.-]+$/)
    .meta({ description: 'a file name', example: 'main.js' }),
});
const tags = ['storefront'];
const missing = { description: 'No such file.', problem };
const page = { 'text/html': { schema: { type: 'string' as const } } };
const text = { schema: { type: 'string' as const } };

export function webDocument(): OpenApiDocument {
  return serviceDocument({
    service: 'web',
    summary: 'The storefront',
    description:
      'Serves the storefront and its API page, through the gateway, to the browser, which then calls the APIs on the same origin (the gateway).',
    tags: [
      { name: 'storefront', description: 'The pages, their scripts and styles, and where the APIs are.' },
      { name: 'monitoring', description: 'Where Prometheus finds every instance to scrape.' },
    ],
    paths: {
      '/registry/targets': {
        get: operation({
          operationId: 'scrapeTargets',
          summary: 'Every registered instance, for Prometheus',
          description:
            "Prometheus's HTTP service discovery reads it: one target group per instance in the registry, labelled with its service and instance id.",
          tags: ['monitoring'],
          responses: { 200: { description: 'The target groups.', json: scrapeTargets } },
        }),
      },
      '/config.json': {
        get: operation({
          operationId: 'config',
          summary: 'Where the APIs are',
          description:
            'Read by the storefront at run time, so the same build works locally, in containers and on the Pis.',
          tags,
          responses: { 200: { description: 'The stage and the API locations.', json: storefrontConfig } },
        }),
      },
      '/': {
        get: operation({
          operationId: 'storefront',
          summary: 'The storefront page',
          tags,
          responses: { 200: { description: 'index.html', content: page } },
        }),
      },
      '/{file}': {
        get: operation({
          operationId: 'file',
          summary: 'A file of the storefront',
          description: 'Pages (`index.html`, `api.html`), scripts, styles and the icon.',
          tags,
          requestParams: { path: file },
          responses: {
            200: {
              description: 'The file.',
              content: { ...page, 'text/javascript': text, 'text/css': text, 'image/svg+xml': text },
            },
            404: missing,
          },
        }),
      },
      '/vendor/swagger-ui/{file}': {
        get: operation({
          operationId: 'swaggerUi',
          summary: 'A file of Swagger UI, which renders the API page',
          tags,
          requestParams: { path: file },
          responses: {
            200: {
              description: 'The file.',
              content: { 'text/javascript': text, 'text/css': text, 'text/plain': text },
            },
            404: missing,
          },
        }),
      },
    },
  });
}
