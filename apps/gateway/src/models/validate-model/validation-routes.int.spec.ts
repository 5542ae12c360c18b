import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Commands, Queries, type ByIdQuery, type Role, type ValidateModelCommand } from '@hotswap/contracts';
import { startGatewayHarness, type GatewayHarness } from '../../testing/gateway-harness.js';

/**
 * `POST /api/v1/models/{id}/validate` and `GET /api/v1/models/{id}/validation-report` against a
 * real nats-server; the test plays the validator on NATS.
 */

jest.setTimeout(20_000);

let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGatewayHarness('validation-routes');
}, 30_000);

afterAll(async () => {
  await harness?.close();
});

beforeEach(async () => {
  await harness.resetHandlers();
});

const serve = <T>(subject: string, handler: (payload: T) => unknown) => harness.serve(subject, handler);
const call: GatewayHarness['call'] = (...args) => harness.call(...args);

const rejection = (code: string, message: string) => Object.assign(new Error(message), { code });

const validate = (id: string, body: unknown, roles: Role[] = ['ModelDeveloper']) =>
  call(`/api/v1/models/${encodeURIComponent(id)}/validate`, roles, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });

describe('POST /api/v1/models/{id}/validate', () => {
  it('forwards the request with the caller as actor and answers 202 with the run id', async () => {
    const asked = await serve<ValidateModelCommand>(Commands.validateModel, () => ({ id: 'adder-1.0.0', status: 'Validating', validationId: 'val-1' }));
    const reply = await validate('adder-1.0.0', { thresholds: { latencyP99Ms: 20, maxErrorRate: 0.05 } });
    expect(reply).toEqual({ status: 202, body: { id: 'adder-1.0.0', status: 'Validating', validationId: 'val-1' } });
    expect(asked).toEqual([{ actor: 'dora', modelId: 'adder-1.0.0', thresholds: { latencyP99Ms: 20, maxErrorRate: 0.05 } }]);
  });

  it('forwards where to run the load test and benchmark (a validation device)', async () => {
    const asked = await serve<ValidateModelCommand>(Commands.validateModel, ({ modelId }) => ({ id: modelId, status: 'Validating', validationId: 'v' }));
    expect((await validate('adder-1.0.0', { onDevice: true })).status).toBe(202);
    expect((await validate('adder-1.0.0', { onDevice: 'val-dev-1' })).status).toBe(202);
    expect(asked.map((c) => c.onDevice)).toEqual([true, 'val-dev-1']);
  });

  it('accepts an empty body, and Admin as well as ModelDeveloper', async () => {
    const asked = await serve<ValidateModelCommand>(Commands.validateModel, ({ modelId }) => ({ id: modelId, status: 'Validating', validationId: 'v' }));
    expect((await validate('adder-1.0.0', undefined, ['Admin'])).status).toBe(202);
    expect(asked).toEqual([{ actor: 'dora', modelId: 'adder-1.0.0' }]);
  });

  it('refuses an Operator and a Viewer with 403', async () => {
    expect((await validate('adder-1.0.0', {}, ['Operator'])).status).toBe(403);
    expect((await validate('adder-1.0.0', {}, ['Viewer'])).status).toBe(403);
  });

  it.each([
    [{ thresholds: { latencyP99Ms: 0 } }, 'thresholds.latencyP99Ms: latencyP99Ms must be > 0 (milliseconds) [isPositive]', ['thresholds.latencyP99Ms']],
    [{ thresholds: { latencyP99Ms: 'fast' } }, 'latencyP99Ms must be a number of milliseconds [isNumber]', ['thresholds.latencyP99Ms']],
    [{ thresholds: { minAccuracyRatio: 1.2 } }, 'minAccuracyRatio must be between 0 and 1 [max]', ['thresholds.minAccuracyRatio']],
    [{ thresholds: { p99: 1 } }, 'thresholds.p99: property p99 should not exist', ['thresholds.p99']],
    [{ thresholds: 5 }, 'thresholds must be an object', ['thresholds']],
    [{ datasetId: 'a b' }, 'datasetId must be a dataset id', ['datasetId']],
    [{ force: true }, 'force: property force should not exist', ['force']],
  ])('refuses %j with 400 naming the field', async (body, message, properties) => {
    const asked = await serve(Commands.validateModel, () => ({}));
    const reply = await validate('adder-1.0.0', body);
    expect(reply.status).toBe(400);
    expect(reply.body.message).toContain(message);
    expect(reply.body.details).toEqual({ properties });
    expect(asked).toEqual([]);
  });

  it('passes on 404 naming an unknown model and 409 while a run is going on', async () => {
    await serve<ValidateModelCommand>(Commands.validateModel, ({ modelId }) => {
      if (modelId === 'busy-1.0.0') throw rejection('CONFLICT', 'model busy-1.0.0 is being validated (run val-7 started at …)');
      throw rejection('NOT_FOUND', `model ${modelId} not found`);
    });
    expect(await validate('ghost-1.0.0', {})).toEqual({ status: 404, body: { statusCode: 404, error: 'Not Found', message: 'model ghost-1.0.0 not found' } });
    const busy = await validate('busy-1.0.0', {});
    expect(busy.status).toBe(409);
    expect(busy.body.message).toContain('is being validated (run val-7');
  });

  it('refuses a model id holding a NATS wildcard before asking anyone', async () => {
    const reply = await validate('adder.*', {});
    expect(reply.status).toBe(400);
    expect(reply.body.message).toBe('model id "adder.*" must not contain "*", ">" or whitespace');
  });
});

describe('GET /api/v1/models/{id}/validation-report', () => {
  it('returns the report to any role and 404 with the validator message for an unknown model', async () => {
    const report = { modelId: 'adder-1.0.0', status: 'Passed', latencyMs: { p50: 0.1, p95: 0.2, p99: 0.3 }, checks: [] };
    const asked = await serve<ByIdQuery>(Queries.getValidationReport, ({ id }) => {
      if (id === 'adder-1.0.0') return report;
      throw rejection('NOT_FOUND', `model ${id} not found`);
    });
    expect(await call('/api/v1/models/adder-1.0.0/validation-report', ['Viewer'])).toEqual({ status: 200, body: report });
    const missing = await call('/api/v1/models/ghost-1.0.0/validation-report', ['Operator']);
    expect(missing).toEqual({ status: 404, body: { statusCode: 404, error: 'Not Found', message: 'model ghost-1.0.0 not found' } });
    expect(asked).toEqual([{ id: 'adder-1.0.0' }, { id: 'ghost-1.0.0' }]);
  });

  it('refuses a request without a token', async () => {
    expect((await fetch(`${harness.baseUrl}/api/v1/models/adder-1.0.0/validation-report`)).status).toBe(401);
  });
});
