import { STATUS_CODES, type ServerResponse } from 'node:http';
import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { ERROR_CODES } from '@hotswap/contracts';
import {
  ArtifactNotFoundError, MessagingError, NoRespondersError, RemoteError, RequestTimeoutError,
} from '@hotswap/infrastructure';

/** 416 for a byte range outside the artifact; the filter adds `Content-Range: bytes *\/<size>`. */
export class RangeNotSatisfiableException extends HttpException {
  constructor(
    readonly range: string,
    readonly sizeBytes: number,
  ) {
    super(`range "${range}" is not satisfiable for an artifact of ${sizeBytes} bytes`, 416);
  }
}

/** Every error response of the API. */
export interface ErrorBody {
  readonly statusCode: number;
  /** The HTTP reason phrase of `statusCode`. */
  readonly error: string;
  readonly message: string;
  readonly details?: unknown;
}

/**
 * Turns anything thrown by a route into an `ErrorBody`: HTTP exceptions keep their status, service
 * rejections map their code through `ERROR_CODES`, an unreachable or silent service is 503 naming
 * the subject asked, and anything unexpected is a logged 500 that reveals nothing.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Gateway');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<ServerResponse>();
    const problem = toProblem(exception);
    if (problem.statusCode >= 500) {
      const cause = exception instanceof Error ? `: ${exception.message}` : '';
      this.logger.error(`${problem.statusCode} ${problem.message}${cause}`, exception instanceof Error ? exception.stack : undefined);
    }
    if (response.headersSent) {
      // A streamed body broke off half-way; the client sees a truncated response, not a second one.
      response.destroy();
      return;
    }
    const body: ErrorBody = {
      statusCode: problem.statusCode,
      error: STATUS_CODES[problem.statusCode] ?? 'Error',
      message: problem.message,
      ...(problem.details === undefined ? {} : { details: problem.details }),
    };
    response.statusCode = problem.statusCode;
    for (const [name, value] of Object.entries(problem.headers ?? {})) response.setHeader(name, value);
    response.setHeader('Content-Type', 'application/json; charset=utf-8');
    response.end(JSON.stringify(body));
  }
}

interface Problem {
  readonly statusCode: number;
  readonly message: string;
  readonly details?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export function toProblem(exception: unknown): Problem {
  if (exception instanceof RangeNotSatisfiableException) {
    return { ...fromHttpException(exception), headers: { 'Content-Range': `bytes */${exception.sizeBytes}` } };
  }
  // Nest wraps Express body-parser errors in HttpExceptions; say what was wrong with the body.
  const parserError = bodyParserError(exception instanceof HttpException ? exception.cause : exception);
  if (parserError !== undefined) return parserError;
  if (exception instanceof HttpException) return fromHttpException(exception);
  if (exception instanceof RemoteError) {
    const service = serviceOf(exception.subject);
    const statusCode = (ERROR_CODES as Record<string, number | undefined>)[exception.code];
    // A service's internal failure is logged here, not shown: its message may hold internals.
    if (statusCode === undefined || (statusCode >= 500 && exception.code !== 'UNAVAILABLE')) {
      return {
        statusCode: statusCode ?? 502,
        message: `${service} failed to handle the request`,
        details: { subject: exception.subject },
      };
    }
    return { statusCode, message: exception.message, details: exception.details };
  }
  if (exception instanceof NoRespondersError) {
    return {
      statusCode: 503,
      message: `${serviceOf(exception.subject)} is unavailable: no responders for ${exception.subject}`,
      details: { subject: exception.subject },
    };
  }
  if (exception instanceof RequestTimeoutError) {
    return {
      statusCode: 503,
      message: `${serviceOf(exception.subject)} did not answer: ${exception.message}`,
      details: { subject: exception.subject, timeoutMs: exception.timeoutMs },
    };
  }
  if (exception instanceof MessagingError) return { statusCode: 502, message: exception.message };
  if (exception instanceof ArtifactNotFoundError) return { statusCode: 404, message: 'no such artifact' };
  return { statusCode: 500, message: 'internal error' };
}

function fromHttpException(exception: HttpException): Problem {
  const statusCode = exception.getStatus();
  const response = exception.getResponse();
  if (typeof response === 'string') return { statusCode, message: response };
  const { message, details } = response as { message?: unknown; details?: unknown };
  const text = Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : exception.message;
  return { statusCode, message: text, details };
}

/** `hotswap.cmd.model-registry.upload-model` → `model-registry`. */
function serviceOf(subject: string): string {
  const parts = subject.split('.');
  return parts.length >= 3 && parts[0] === 'hotswap' ? parts[2] : subject;
}

/** Errors of Express' body parsers carry a 4xx `status` and a `type` such as `entity.parse.failed`. */
function bodyParserError(exception: unknown): Problem | undefined {
  if (typeof exception !== 'object' || exception === null) return undefined;
  const { status, type, message } = exception as { status?: unknown; type?: unknown; message?: unknown };
  if (typeof status !== 'number' || status < 400 || status > 499 || typeof type !== 'string') return undefined;
  const reason = type === 'entity.parse.failed' ? `malformed JSON body: ${String(message)}` : String(message);
  return { statusCode: status, message: reason };
}
