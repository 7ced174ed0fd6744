import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { TraceoError } from '@traceo/contracts';
import type { Request, Response } from 'express';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  instance: string;
  requestId?: string;
  errors?: readonly string[];
}

const TITLES: Record<number, string> = {
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
};

/** Codes for errors raised by the HTTP stack itself (router, body parser) rather than by our code. */
function frameworkCode(status: number, error: HttpException): string {
  const type = (error.cause as { type?: string } | undefined)?.type ?? (error as { type?: string }).type;
  if (status === 404) return 'REQUEST.NOT_FOUND';
  if (status === 413) return 'REQUEST.TOO_LARGE';
  if (status === 415) return 'REQUEST.UNSUPPORTED_MEDIA_TYPE';
  if (status === 400 && type === 'entity.parse.failed') return 'REQUEST.MALFORMED_JSON';
  if (status >= 400 && status < 500) return 'REQUEST.REJECTED';
  return 'INTERNAL.UNEXPECTED';
}

/**
 * The one place where errors become HTTP responses: RFC 9457 problem+json with a stable `code`.
 * Unknown errors are logged with their stack and answered with a generic 500 that reveals nothing.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const request = host.switchToHttp().getRequest<Request & { id?: string }>();
    const response = host.switchToHttp().getResponse<Response>();
    const problem = this.toProblem(error, request);
    if (problem.status >= 500) this.logger.error({ err: error, requestId: problem.requestId }, 'unhandled error');
    response.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  }

  private toProblem(error: unknown, request: Request & { id?: string }): ProblemDetails {
    const base = { instance: request.originalUrl?.split('?')[0] ?? request.url, ...(request.id ? { requestId: String(request.id) } : {}) };
    if (error instanceof TraceoError) {
      const issues = error.details?.issues;
      return {
        type: `https://traceo.dev/problems/${error.code.toLowerCase().replace(/[._]/g, '-')}`,
        title: TITLES[error.status] ?? 'Error',
        status: error.status,
        code: error.code,
        detail: error.message,
        ...base,
        ...(Array.isArray(issues) ? { errors: issues.map(String) } : {}),
      };
    }
    if (error instanceof HttpException) {
      const status = error.getStatus();
      const code = frameworkCode(status, error);
      return {
        type: `https://traceo.dev/problems/${code.toLowerCase().replace(/[._]/g, '-')}`,
        title: TITLES[status] ?? 'Error',
        status,
        code,
        detail: status >= 500 ? 'The server could not complete the request.' : (TITLES[status] ?? 'Request rejected'),
        ...base,
      };
    }
    const status = (error as { status?: number; type?: string }).type === 'entity.parse.failed' ? 400 : 500;
    const code = status === 400 ? 'REQUEST.MALFORMED_JSON' : 'INTERNAL.UNEXPECTED';
    return {
      type: `https://traceo.dev/problems/${code.toLowerCase().replace(/[._]/g, '-')}`,
      title: TITLES[status]!,
      status,
      code,
      detail: status === 400 ? 'The request body is not valid JSON.' : 'The server could not complete the request.',
      ...base,
    };
  }
}
