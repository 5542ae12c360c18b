import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { JsonSchema, OpenApiDocument } from '@hotswap/contracts';
import type { LocalFileArtifactStore, MessageBus } from '@hotswap/infrastructure';
import { GatewayModule } from '../gateway.module.js';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness.js';

/** Each handler of the controllers GatewayModule registers, read from Nest's metadata independently of the docs code. */
function registeredHandlers(): Array<{ route: string; takesBody: boolean }> {
  const module = GatewayModule.register({
    bus: {} as MessageBus, artifacts: {} as LocalFileArtifactStore, jwtSecret: 's', urlSigningSecret: 'u', maxUploadBytes: 1, clock: () => new Date(),
  });
  return ((module.controllers ?? []) as Type[]).flatMap((controller) => {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const prototype = controller.prototype as Record<string, unknown>;
    return Object.getOwnPropertyNames(prototype).flatMap((name) => {
      const handler = prototype[name];
      const method = typeof handler === 'function' ? Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined : undefined;
      if (name === 'constructor' || method === undefined) return [];
      const path = `/${[base, Reflect.getMetadata(PATH_METADATA, handler as object) as string].map((p) => p.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/')}`;
      const argKinds = Object.keys((Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as object).map((key) => Number(key.split(':')[0]));
      const takesBody = argKinds.includes(RouteParamtypes.BODY) || argKinds.includes(RouteParamtypes.REQUEST);
      return [{ route: `${RequestMethod[method]} ${path.replace(/[:*]([A-Za-z0-9_]+)/g, '{$1}')}`, takesBody }];
    });
  });
}

let harness: GatewayHarness;
let doc: OpenApiDocument;

beforeAll(async () => {
  harness = await startGatewayHarness('docs');
  const response = await fetch(`${harness.baseUrl}/docs/openapi.json`);
  expect(response.status).toBe(200);
  doc = (await response.json()) as OpenApiDocument;
});

afterAll(async () => {
  await harness?.close();
});

const operations = () => Object.entries(doc.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, op })));

describe('the OpenAPI document at /docs/openapi.json', () => {
  it('is served without a token and is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it('lists every route the gateway serves, and nothing else', () => {
    expect(operations().map(({ route }) => route).sort()).toEqual(registeredHandlers().map(({ route }) => route).sort());
  });

  it('gives every operation its own operationId', () => {
    const ids = operations().map(({ op }) => op['operationId']);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('has a request body schema for every POST/PUT route that reads a body', () => {
    const missing = registeredHandlers()
      .filter(({ route, takesBody }) => takesBody && /^(POST|PUT) /.test(route))
      .filter(({ route }) => operations().find((o) => o.route === route)?.op['requestBody'] === undefined)
      .map(({ route }) => route);
    expect(missing).toEqual([]);
  });

  it('describes each DTO with its constraints, as JSON Schemas that compile', () => {
    const schemas = (doc['components'] as { schemas: Record<string, JsonSchema> }).schemas;
    expect(schemas['CreateDistributionDto']).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['strategy']),
      additionalProperties: false,
      properties: {
        strategy: { enum: expect.arrayContaining(['Direct']) },
        targetFilter: { $ref: '#/components/schemas/TargetFilterDto' },
        targetDevices: { type: 'array', minItems: 1, items: { type: 'string', pattern: expect.any(String) } },
      },
    });
    expect(schemas['DeviceCapabilitiesDto']).toMatchObject({ properties: { cpuCores: { type: 'integer', minimum: 1, maximum: 1024 } } });
    const ajv = new Ajv2020({ strict: false });
    // One document holding the components, so their `#/components/schemas/…` references resolve.
    ajv.addSchema({ $id: 'https://hotswap.invalid/openapi', components: { schemas } });
    for (const name of Object.keys(schemas)) {
      expect(() => ajv.compile({ $ref: `https://hotswap.invalid/openapi#/components/schemas/${name}` })).not.toThrow();
    }
  });

  it('names who may call each operation: bearer roles, X-Api-Key for device registration, nothing for probes', () => {
    const op = (route: string) => operations().find((o) => o.route === route)?.op ?? {};
    expect(op('POST /api/v1/distributions')).toMatchObject({ security: [{ bearerAuth: [] }], 'x-roles': ['Admin', 'Operator'] });
    expect(op('POST /api/v1/devices')['security']).toEqual([{ bearerAuth: [] }, { registrationApiKey: [] }]);
    expect(op('GET /healthz')['security']).toEqual([]);
    expect(op('POST /api/v1/models')['requestBody']).toMatchObject({
      content: { 'multipart/form-data': { schema: { required: expect.arrayContaining(['name', 'version', 'framework', 'artifact']) } } },
    });
  });
});

describe('the page at /docs', () => {
  it('shows every operation and links the JSON document', async () => {
    const response = await fetch(`${harness.baseUrl}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('href="/docs/openapi.json"');
    for (const { route } of operations()) {
      const [method, path] = route.split(' ');
      expect(html).toContain(`<span class="method ${method.toLowerCase()}">${method.toLowerCase()}</span> <span class="path">${path.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)}</span>`);
    }
  });
});
