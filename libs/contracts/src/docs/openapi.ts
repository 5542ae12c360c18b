import { ROLES } from '../vocabulary.js';
import { DtoSchemas, type DtoClass, type JsonSchema } from './json-schema.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

/** A file part of a multipart body. */
export interface FilePart {
  /** The part's name, or a pattern of names (`^inputs\\.`) when `pattern` is set. */
  readonly name: string;
  readonly pattern?: boolean;
  readonly required: boolean;
  readonly description: string;
}

/** What an HTTP route accepts and who may call it; the gateway reads these from its controllers. */
export interface ApiRoute {
  readonly method: HttpMethod;
  /** OpenAPI form: `/api/v1/models/{id}`. */
  readonly path: string;
  readonly operationId: string;
  readonly tag: string;
  readonly summary?: string;
  /**
   * `public`: no credentials (health probes, signed URLs). `bearer`: a JWT whose roles include one
   * of `roles` (any role when absent); `apiKey` adds `X-Api-Key` as an alternative.
   */
  readonly auth: { readonly kind: 'public' } | { readonly kind: 'bearer'; readonly roles?: readonly string[]; readonly apiKey?: boolean };
  readonly pathParams: ReadonlyArray<{ readonly name: string; readonly description?: string }>;
  /** A DTO whose properties are query parameters, and single named ones. */
  readonly query?: DtoClass;
  readonly queryParams?: readonly string[];
  readonly headers?: readonly string[];
  readonly body?: {
    readonly json?: DtoClass;
    readonly multipart?: { readonly fields: DtoClass; readonly files: readonly FilePart[] };
    /** A body the route reads itself, beyond its schema (bytes, streams). */
    readonly description?: string;
  };
  readonly successStatus: number;
  /** The rate-limit rule the route counts against, if any. */
  readonly rateLimit?: string;
}

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description?: string;
}

export type OpenApiDocument = JsonSchema & { openapi: string; paths: Record<string, Record<string, JsonSchema>> };

/** The API's error body (`{ statusCode, error, message, details? }`), as every 4xx/5xx carries it. */
export const ERROR_BODY_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer', minimum: 400, maximum: 599 },
    error: { type: 'string', description: 'The HTTP reason phrase of statusCode.' },
    message: { type: 'string', description: 'What was wrong, naming the field or resource.' },
    details: { description: 'Structured detail, e.g. { properties: [names of the failing fields] }.' },
  },
};

const REASONS: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted (the work goes on)', 204: 'No content',
  400: 'Bad input: the message names the field', 401: 'No valid credentials', 403: 'The token lacks the role',
  404: 'Not found', 409: 'Conflicts with the current state', 413: 'Body too large', 429: 'Rate limit exceeded (see Retry-After)',
  503: 'A service or dependency is unavailable',
};

const error = (status: number): JsonSchema => ({
  description: REASONS[status],
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
});

/** An OpenAPI 3.1 document of the routes, with every DTO's JSON Schema from its decorators. */
export function buildOpenApiDocument(info: OpenApiInfo, routes: readonly ApiRoute[]): OpenApiDocument {
  const dtos = new DtoSchemas('#/components/schemas/');
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const sorted = [...routes].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
  for (const route of sorted) {
    paths[route.path] ??= {};
    paths[route.path][route.method.toLowerCase()] = operation(route, dtos);
  }
  return {
    openapi: '3.1.0',
    info: { ...info },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    servers: [{ url: '/', description: 'this gateway' }],
    tags: [...new Set(sorted.map((route) => route.tag))].sort().map((name) => ({ name })),
    paths,
    components: {
      schemas: { ErrorBody: ERROR_BODY_SCHEMA, ...sortedObject(dtos.schemas) },
      securitySchemes: {
        bearerAuth: {
          type: 'http', scheme: 'bearer', bearerFormat: 'JWT',
          description: `HS256 or RS256/ES256 (JWKS); the "roles" claim holds any of ${ROLES.join(', ')}.`,
        },
        registrationApiKey: {
          type: 'apiKey', in: 'header', name: 'X-Api-Key',
          description: 'A device registration key (bootstrap or managed under /api/v1/api-keys).',
        },
      },
    },
  };
}

function operation(route: ApiRoute, dtos: DtoSchemas): JsonSchema {
  const parameters: JsonSchema[] = [
    ...route.pathParams.map((param) => ({
      name: param.name, in: 'path', required: true, schema: { type: 'string' }, ...(param.description ? { description: param.description } : {}),
    })),
    ...(route.query ? dtos.properties(route.query).map(({ name, required, schema }) => ({ name, in: 'query', required, schema })) : []),
    ...(route.queryParams ?? []).map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
    ...(route.headers ?? []).map((name) => ({ name, in: 'header', required: false, schema: { type: 'string' } })),
  ];
  const roles = route.auth.kind === 'bearer' ? route.auth.roles : undefined;
  const who = route.auth.kind === 'public'
    ? 'No credentials needed.'
    : `${roles === undefined ? 'Any role' : `Roles: ${roles.join(', ')}`}${route.auth.apiKey ? '; or X-Api-Key' : ''}.`;
  const hasInput = parameters.length > 0 || route.body !== undefined;
  const statuses = [
    ...(hasInput ? [400] : []),
    ...(route.auth.kind === 'bearer' ? [401, 403] : []),
    ...(route.body?.multipart ? [413] : []),
    ...(route.rateLimit ? [429] : []),
  ];
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary ?? `${route.method} ${route.path}`,
    description: [who, route.rateLimit ? `Rate limited (${route.rateLimit}).` : '', route.body?.description ?? ''].filter(Boolean).join(' '),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body ? { requestBody: requestBody(route.body, dtos) } : {}),
    security: route.auth.kind === 'public'
      ? []
      : [{ bearerAuth: [] }, ...(route.auth.apiKey ? [{ registrationApiKey: [] }] : [])],
    ...(roles ? { 'x-roles': [...roles] } : {}),
    responses: {
      [String(route.successStatus)]: { description: REASONS[route.successStatus] ?? 'Success' },
      ...Object.fromEntries(statuses.map((status) => [String(status), error(status)])),
      default: { description: 'Another error (404, 409, 503…)', content: error(500)['content'] },
    },
  };
}

function requestBody(body: NonNullable<ApiRoute['body']>, dtos: DtoSchemas): JsonSchema {
  const content: Record<string, JsonSchema> = {};
  if (body.json) content['application/json'] = { schema: dtos.ref(body.json) };
  if (body.multipart) {
    const fields = dtos.properties(body.multipart.fields);
    const file = (part: FilePart): JsonSchema => ({ type: 'string', contentMediaType: 'application/octet-stream', description: part.description });
    const named = body.multipart.files.filter((part) => !part.pattern);
    const patterned = body.multipart.files.filter((part) => part.pattern);
    content['multipart/form-data'] = {
      schema: {
        type: 'object',
        properties: {
          ...Object.fromEntries(fields.map(({ name, schema }) => [name, schema])),
          ...Object.fromEntries(named.map((part) => [part.name, file(part)])),
        },
        required: [...fields.filter((field) => field.required).map((field) => field.name), ...named.filter((part) => part.required).map((part) => part.name)],
        ...(patterned.length > 0 ? { patternProperties: Object.fromEntries(patterned.map((part) => [part.name, file(part)])) } : {}),
        additionalProperties: false,
      },
    };
  }
  // A JSON body whose every field is optional may be left out.
  const required = body.multipart !== undefined || (body.json !== undefined && dtos.properties(body.json).some((field) => field.required));
  return { required, content };
}

function sortedObject<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
