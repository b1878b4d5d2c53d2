import type { ErrorRequestHandler, RequestHandler } from 'express';

/** RFC 9457 problem details: the one error shape of every service. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  507: 'Insufficient Storage',
};

/** Throw one of these from a route: the error handler turns it into problem+json. */
export class HttpProblem extends Error {
  readonly status: number;
  readonly extensions: Record<string, unknown>;

  constructor(status: number, detail: string, extensions: Record<string, unknown> = {}) {
    super(detail);
    this.status = status;
    this.extensions = extensions;
  }

  toJSON(): Problem {
    return {
      type: 'about:blank',
      title: titles[this.status] ?? 'Error',
      status: this.status,
      detail: this.message,
      ...this.extensions,
    };
  }
}

export const notFound = (detail: string) => new HttpProblem(404, detail);

export const unknownRoute: RequestHandler = (req, _res, next) => {
  next(notFound(`no route for ${req.method} ${req.path}`));
};

interface BodyParserError {
  type?: string;
  status?: number;
}

/** Maps every error to problem+json; never an HTML page, never a stack trace. */
export function problemHandler(onUnexpected: (err: unknown) => void): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    let problem: HttpProblem;
    if (err instanceof HttpProblem) {
      problem = err;
    } else {
      const parserError = err as BodyParserError;
      if (parserError.type === 'entity.parse.failed') {
        problem = new HttpProblem(400, 'the request body is not valid JSON');
      } else if (parserError.type === 'entity.too.large') {
        problem = new HttpProblem(413, 'the request body is larger than 64 KiB');
      } else if (parserError.status === 400 || parserError.status === 415) {
        problem = new HttpProblem(parserError.status, String((err as Error).message));
      } else {
        onUnexpected(err);
        problem = new HttpProblem(500, 'an unexpected error occurred; it has been logged');
      }
    }
    res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  };
}
