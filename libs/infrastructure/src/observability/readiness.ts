import type { IncomingMessage, ServerResponse } from 'node:http';

/** One component's answer: ready, or not with the reason (e.g. a saturated distributor). */
export type ReadinessResult = { readonly ready: true } | { readonly ready: false; readonly reason: string };

export interface ReadinessReport {
  readonly status: 'ready' | 'not ready';
  /** The reasons of the checks that are not ready, joined (absent when ready). */
  readonly reason?: string;
  readonly checks: Readonly<Record<string, ReadinessResult>>;
}

export class ReadinessCheckExistsError extends Error {
  readonly code = 'CONFLICT';
  constructor(readonly check: string) {
    super(`readiness check ${check} is already registered; stop the first before registering another`);
    this.name = 'ReadinessCheckExistsError';
  }
}

/**
 * The checks behind a service's `GET /readyz`: components register what makes them unready, the
 * HTTP server (`serveMetrics`) asks them all at each request. Ready when every check is.
 */
export class Readiness {
  private readonly checks = new Map<string, () => ReadinessResult>();

  /**
   * Returns the function that removes the check.
   * @throws ReadinessCheckExistsError
   */
  register(name: string, check: () => ReadinessResult): () => void {
    if (this.checks.has(name)) throw new ReadinessCheckExistsError(name);
    this.checks.set(name, check);
    return () => {
      if (this.checks.get(name) === check) this.checks.delete(name);
    };
  }

  report(): ReadinessReport {
    const checks: Record<string, ReadinessResult> = {};
    for (const [name, check] of this.checks) {
      try {
        checks[name] = check();
      } catch (error) {
        checks[name] = { ready: false, reason: `${name} check failed: ${error instanceof Error ? error.message : String(error)}` };
      }
    }
    const reasons = Object.values(checks).flatMap((result) => (result.ready ? [] : [result.reason]));
    return reasons.length === 0 ? { status: 'ready', checks } : { status: 'not ready', reason: reasons.join('; '), checks };
  }
}

/** `GET /readyz`: 200 with the report when every check is ready, 503 with it (and the reason) otherwise. */
export function readinessRequestListener(readiness: Pick<Readiness, 'report'>) {
  return (_request: IncomingMessage, response: ServerResponse): void => {
    const report = readiness.report();
    response.writeHead(report.status === 'ready' ? 200 : 503, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    response.end(JSON.stringify(report));
  };
}
