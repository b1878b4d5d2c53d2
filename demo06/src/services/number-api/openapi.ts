import { z } from 'zod';
import { invalid, type OpenApiDocument, operation, serviceDocument } from '../../lib/openapi.js';

export const isbnAnswer = z
  .object({
    isbn: z
      .string()
      .regex(/^978\d{10}$/)
      .meta({ description: 'ISBN-13 with a valid check digit', example: '9780004215374' }),
  })
  .meta({ id: 'Isbn' });

export const eanAnswer = z
  .object({
    ean: z
      .string()
      .regex(/^\d{13}$/)
      .meta({ description: 'EAN-13 with a valid check digit', example: '2000004215370' }),
  })
  .meta({ id: 'Ean' });

const tags = ['numbers'];
const malformed = invalid('A body was sent and is not valid JSON (none is needed).');

export function numberDocument(): OpenApiDocument {
  return serviceDocument({
    service: 'number-api',
    summary: 'Numbers for new items',
    description: 'Hands out ISBN-13 and EAN-13 numbers, never the same twice in a process.',
    tags: [{ name: 'numbers', description: 'Fresh numbers with valid check digits.' }],
    paths: {
      '/api/numbers/isbn': {
        post: operation({
          operationId: 'takeIsbn',
          summary: 'Take a fresh ISBN-13',
          tags,
          responses: {
            201: { description: 'An ISBN-13 in the 978 prefix.', json: isbnAnswer },
            400: malformed,
          },
        }),
      },
      '/api/numbers/ean': {
        post: operation({
          operationId: 'takeEan',
          summary: 'Take a fresh EAN-13',
          tags,
          responses: {
            201: { description: 'An EAN-13 in the 20 prefix (in-store numbering).', json: eanAnswer },
            400: malformed,
          },
        }),
      },
    },
  });
}
