import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { readdir } from 'node:fs/promises';
import fc from 'fast-check';
import type { JsonSchema, OpenApiDocument } from '@hotswap/contracts';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness.js';
import { mutationOf, resolver, valueOf, type Mutation, type Resolve } from './testing/schema-arbitraries.js';

/**
 * Bad input, fuzzed: every POST/PUT/DELETE route of the OpenAPI document the gateway serves gets
 * bodies generated from its schema — valid-ish ones and ones that break a rule — on path
 * parameters that are valid or not. The services answer every command, so a 4xx can only come
 * from the gateway itself. Never a 5xx; every 4xx names the problem; a 4xx changes nothing (no
 * command reaches a service, nothing is left in the artifact store, the API key list is the same).
 */
jest.setTimeout(120_000);

const RUNS_PER_ROUTE = Number(process.env['HOTSWAP_FUZZ_RUNS'] ?? 40);
/** Nested deep enough to overflow a recursive walk (class-transformer's): it once made a 500. */
const DEEP_JSON = `${'['.repeat(5000)}1${']'.repeat(5000)}`;

let harness: GatewayHarness;
let doc: OpenApiDocument;
let resolve: Resolve;
let admin: string;
const commands: unknown[] = [];

/** A reply with the fields any route may read from a service's answer. */
const GENERIC_REPLY = {
  id: 'x-1', status: 'Accepted', validationId: 'val-1', name: 'fraud', version: '1.0.0', framework: 'onnx',
  checksum: '0'.repeat(64), sizeBytes: 1, token: 'CREDS', inboxPrefix: '_INBOX_x', items: [], total: 0,
};

beforeAll(async () => {
  harness = await startGatewayHarness('fuzz', {}, { jetstream: true });
  admin = await harness.token(['Admin']);
  await harness.serve('hotswap.cmd.>', (command) => {
    commands.push(command);
    return GENERIC_REPLY;
  });
  await harness.serve('hotswap.qry.>', () => GENERIC_REPLY);
  doc = (await (await fetch(`${harness.baseUrl}/docs/openapi.json`)).json()) as OpenApiDocument;
  resolve = resolver(doc);
}, 60_000);

afterAll(async () => {
  await harness?.close();
});

interface Request {
  readonly url: string;
  readonly init: RequestInit;
  /** The path and query parameters are all well-formed, so a 400 must be about the body. */
  readonly pathValid: boolean;
  readonly mutation?: Mutation;
}

/** Well-formed path parameters, by the path segment before them (`devices/{id}`) or their name. */
const WELL_FORMED: Record<string, readonly string[]> = {
  version: ['1.0.0', '2.1.3-rc.1'],
  name: ['fraud', 'object-detection'],
  devices: ['cam-1', 'edge_7'],
  'api-keys': ['0123456789abcdef'],
  models: ['fraud-1.0.0'],
  other: ['x-1'],
};

function pathValue(path: string, name: string): fc.Arbitrary<{ value: string; valid: boolean }> {
  const segment = new RegExp(`/([^/]+)/\\{${name}\\}`).exec(path)?.[1] ?? '';
  const good = fc.constantFrom(...(WELL_FORMED[name] ?? WELL_FORMED[segment] ?? WELL_FORMED['other'])).map((value) => ({ value, valid: true }));
  const any = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }).map((value) => ({ value, valid: false }));
  return fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: any });
}

/** Requests for one operation: its path and query parameters, and a JSON or multipart body. */
function requests(method: string, path: string, op: JsonSchema): fc.Arbitrary<Request> {
  const parameters = (op['parameters'] ?? []) as JsonSchema[];
  const pathParams = parameters.filter((p) => p['in'] === 'path').map((p) => String(p['name']));
  const queryParams = parameters.filter((p) => p['in'] === 'query');
  const content = ((op['requestBody'] as JsonSchema | undefined)?.['content'] ?? {}) as Record<string, { schema: JsonSchema }>;
  const bodies: Array<fc.Arbitrary<{ init: RequestInit; mutation?: Mutation }>> = [];
  const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  if (content['application/json']) {
    const schema = content['application/json'].schema;
    bodies.push(valueOf(schema, resolve).map((body) => ({ init: json(body) })));
    bodies.push(mutationOf(schema, resolve).map((mutation) => ({ init: json(mutation.body), mutation })));
  }
  if (content['multipart/form-data']) bodies.push(multipart(content['multipart/form-data'].schema));
  // Whatever the route takes: no body, a malformed one, one of the wrong type, or a hostile one (a GET has none).
  if (method === 'GET') bodies.splice(0, bodies.length, fc.constant({ init: {} }));
  else bodies.push(hostileBodies());
  return fc.tuple(fc.tuple(...pathParams.map((name) => pathValue(path, name))), queryOf(queryParams), fc.oneof(...bodies))
    .map(([values, given, { init, mutation }]) => {
      let url = path;
      pathParams.forEach((name, i) => { url = url.replace(`{${name}}`, encodeURIComponent(values[i].value)); });
      const search = new URLSearchParams(given.map(({ name, value }): [string, string] => [name, value])).toString();
      return {
        url: `${url}${search ? `?${search}` : ''}`,
        init: { ...init, method, headers: { authorization: `Bearer ${admin}`, ...(init.headers as Record<string, string> | undefined) } },
        pathValid: values.every((v) => v.valid) && given.every((v) => v.valid),
        ...(mutation ? { mutation } : {}),
      };
    });
}

/** Query parameters from their schemas, or any text; each may be left out. */
function queryOf(queryParams: readonly JsonSchema[]): fc.Arbitrary<Array<{ name: string; value: string; valid: boolean }>> {
  return fc.tuple(...queryParams.map((p) => fc.option(fc.oneof(
    valueOf(p['schema'] as JsonSchema, resolve).map((value) => ({ value: String(value), valid: true })),
    fc.string({ maxLength: 6 }).map((value) => ({ value, valid: false })),
  ), { nil: undefined }).map((value) => (value === undefined ? [] : [{ name: String(p['name']), ...value }])))).map((lists) => lists.flat());
}

function hostileBodies(): fc.Arbitrary<{ init: RequestInit }> {
  const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const raw = (body: string) => ({ body, headers: { 'content-type': 'application/json' } });
  return fc.constantFrom<RequestInit>(
    {},
    raw('{"unterminated'),
    { body: 'plain text', headers: { 'content-type': 'text/plain' } },
    json(null),
    raw('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'),
    raw('{"a":1e400,"b":-1e400,"c":"\\u0000"}'),
    raw(DEEP_JSON),
    raw(`{"big":"${'x'.repeat(3 * 1024 * 1024)}"}`),
    { body: '{}', headers: { 'content-type': 'multipart/form-data; boundary=nope' } },
  ).map((init) => ({ init }));
}

/** A multipart form from the schema's fields and files, sometimes missing a part or oversized. */
function multipart(schema: JsonSchema): fc.Arbitrary<{ init: RequestInit; mutation?: Mutation }> {
  const s = resolve(schema);
  const properties = (s['properties'] ?? {}) as Record<string, JsonSchema>;
  const patterned = Object.keys((s['patternProperties'] ?? {}) as Record<string, JsonSchema>);
  const required = new Set((s['required'] ?? []) as string[]);
  const isFile = (p: JsonSchema) => p['contentMediaType'] === 'application/octet-stream';
  const parts = Object.entries(properties);
  const partValues = fc.tuple(...parts.map(([name, p]) => isFile(p)
    ? fc.uint8Array({ minLength: 0, maxLength: 2048 }).map((bytes) => ({ name, file: bytes }))
    : fc.oneof(
      // Required parts are mostly there, optional ones mostly not (their rules go beyond the schema: JSON text, a matching checksum).
      { weight: required.has(name) ? 1 : 3, arbitrary: fc.constant(undefined) },
      { weight: required.has(name) ? 7 : 1, arbitrary: valueOf(p, resolve).map((v) => (typeof v === 'string' ? v : JSON.stringify(v))) },
      // Hostile text where a field may hold JSON (model metadata).
      { weight: required.has(name) ? 0 : 1, arbitrary: fc.constantFrom(DEEP_JSON, `{"inputSchema":${DEEP_JSON}}`, '{"__proto__":{"polluted":true}}') },
    ).map((text) => ({ name, text }))));
  const drop = fc.option(fc.constantFrom(...parts.map(([name]) => name)), { nil: undefined });
  return fc.tuple(partValues, drop).map(([values, dropped]) => {
    const form = new FormData();
    // Without a required part, leave the optional ones out too, so the missing part is the one problem.
    const breaking = dropped !== undefined && required.has(dropped);
    for (const value of values) {
      if (value.name === dropped || (breaking && !required.has(value.name))) continue;
      if ('file' in value) form.append(value.name, new Blob([value.file]), 'part.bin');
      else if (value.text !== undefined) form.append(value.name, value.text);
    }
    // A part whose name follows a pattern (`inputs.<name>`), with bytes that are rarely a valid NPY file.
    for (const pattern of patterned) form.append(`${pattern.replace(/^\^/, '').replace(/\\\./g, '.')}x`, new Blob([new Uint8Array([0x93, 0x4e])]), 'x.npy');
    // Another required part missing is a 400 of its own.
    const othersMissing = values.some((value) => value.name !== dropped && required.has(value.name) && 'text' in value && value.text === undefined);
    return {
      init: { body: form },
      ...(breaking && !othersMissing ? { mutation: { body: null, blame: dropped, how: `without part ${dropped}` } } : {}),
    };
  });
}

async function storedFiles(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).length;
}

async function apiKeyCount(): Promise<number> {
  const response = await harness.call('/api/v1/api-keys', ['Admin']);
  return (response.body as { items: unknown[] }).items.length;
}

const operations = (methods: readonly string[]) => Object.entries(doc.paths).flatMap(([path, byMethod]) =>
  Object.entries(byMethod).filter(([method]) => methods.includes(method)).map(([method, op]) => ({ method: method.toUpperCase(), path, op })));
const writeOperations = () => operations(['post', 'put', 'delete']);
/** GET routes that take parameters: only those can be given bad input. */
const readOperations = () => operations(['get']).filter(({ op }) => ((op['parameters'] ?? []) as unknown[]).length > 0);

describe('fuzzing every route with input generated from the OpenAPI schemas', () => {
  it('finds write routes to fuzz', () => {
    expect(writeOperations().length).toBeGreaterThanOrEqual(10);
  });

  it('refuses JSON nested too deeply, in a body or in model metadata, with a 400 naming the limit', async () => {
    const body = await harness.call('/api/v1/devices/cam-1', ['Admin'], { method: 'PUT', body: `{"tags":${DEEP_JSON}}` });
    expect(body).toEqual({ status: 400, body: expect.objectContaining({ message: 'JSON body is nested more than 32 levels deep' }) });
    const form = new FormData();
    for (const [name, value] of Object.entries({ name: 'fraud', version: '1.0.0', framework: 'onnx', metadata: `{"inputSchema":${DEEP_JSON}}` })) form.append(name, value);
    form.append('artifact', new Blob([new Uint8Array([1, 2, 3])]), 'model.onnx');
    const upload = await harness.call('/api/v1/models', ['Admin'], { method: 'POST', body: form });
    expect(upload).toEqual({ status: 400, body: expect.objectContaining({ message: expect.stringContaining('metadata is nested more than 32 levels deep') }) });
  });

  it('never answers 5xx; every 4xx names the problem and changes nothing', async () => {
    const problems: string[] = [];
    for (const { method, path, op } of writeOperations()) {
      await fc.assert(fc.asyncProperty(requests(method, path, op), async (request) => {
        const commandsBefore = commands.length;
        const filesBefore = await storedFiles(harness.storeDir);
        const keysBefore = path.startsWith('/api/v1/api-keys') ? await apiKeyCount() : undefined;
        const response = await fetch(`${harness.baseUrl}${request.url}`, request.init);
        const text = await response.text();
        const body = (text ? JSON.parse(text) : undefined) as { message?: unknown; details?: { properties?: string[] } } | undefined;
        const where = `${method} ${request.url} (${request.mutation?.how ?? 'generated body'}) → ${response.status} ${text.slice(0, 400)}`;
        const fail = (what: string) => {
          throw new Error(`${what}: ${where}`);
        };
        if (response.status >= 500) fail('a 5xx');
        if (response.status < 400) return;
        const message = typeof body?.message === 'string' ? body.message : '';
        if (message.length < 10) fail('a 4xx without a message naming the problem');
        if (response.status === 400 && request.pathValid && request.mutation?.blame !== undefined) {
          const blame = request.mutation.blame;
          const named = message.includes(blame) || (body?.details?.properties ?? []).some((p) => p === blame || p.startsWith(`${blame}.`));
          if (!named) fail(`a 400 that does not name ${blame}`);
        }
        const changed = {
          commands: commands.length - commandsBefore,
          files: (await storedFiles(harness.storeDir)) - filesBefore,
          apiKeys: keysBefore === undefined ? 0 : (await apiKeyCount()) - keysBefore,
        };
        if (changed.commands !== 0 || changed.files !== 0 || changed.apiKeys !== 0) fail(`a 4xx that changed state ${JSON.stringify(changed)}`);
      }), { numRuns: RUNS_PER_ROUTE }).catch((error: Error) => {
        // The failing check's own message says what and where; fast-check keeps it as the cause.
        problems.push(`${method} ${path}: ${(error.cause as Error | undefined)?.message ?? error.message}`);
      });
    }
    expect(problems).toEqual([]);
  });

  it('never answers 5xx to a GET with generated parameters, and every 4xx names the problem', async () => {
    const problems: string[] = [];
    for (const { method, path, op } of readOperations()) {
      await fc.assert(fc.asyncProperty(requests(method, path, op), async (request) => {
        const response = await fetch(`${harness.baseUrl}${request.url}`, request.init);
        // A stream (server-sent events) stays open: its status says enough.
        const text = response.headers.get('content-type')?.startsWith('text/event-stream') ? (await response.body?.cancel(), '') : await response.text();
        const where = `${method} ${request.url} → ${response.status} ${text.slice(0, 400)}`;
        if (response.status >= 500) throw new Error(`a 5xx: ${where}`);
        if (response.status < 400) return;
        const message = (JSON.parse(text) as { message?: unknown }).message;
        if (typeof message !== 'string' || message.length < 10) throw new Error(`a 4xx without a message naming the problem: ${where}`);
      }), { numRuns: Math.ceil(RUNS_PER_ROUTE / 2) }).catch((error: Error) => {
        problems.push(`${method} ${path}: ${(error.cause as Error | undefined)?.message ?? error.message}`);
      });
    }
    expect(problems).toEqual([]);
  });
});
