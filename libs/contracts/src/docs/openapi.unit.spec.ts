import { describe, expect, it } from '@jest/globals';
import 'reflect-metadata';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsIn, IsOptional, IsString, Matches, Max, Min, ValidateBy, ValidateNested } from 'class-validator';
import { Validator } from '@seriousme/openapi-schema-validator';
import { buildOpenApiDocument, type ApiRoute } from './openapi.js';
import { DtoSchemas } from './json-schema.js';

class Size {
  @IsInt() @Min(1) @Max(8) cores!: number;
}

class Base {
  @Matches(/^[a-z]+$/, { message: 'name must be lowercase letters' }) name!: string;
}

class Thing extends Base {
  @IsOptional() @IsIn(['a', 'b']) kind?: 'a' | 'b';
  @ValidateNested() @Type(() => Size) size!: Size;
  @IsOptional() @IsArray() @ArrayMaxSize(3) @ValidateNested({ each: true }) @Type(() => Size) spares?: Size[];
  @IsOptional() @IsArray() @IsString({ each: true }) tags?: string[];
  @IsOptional() @ValidateBy({ name: 'isOdd', validator: { validate: (v: unknown) => typeof v === 'number' && v % 2 === 1, defaultMessage: () => '$property must be odd' } })
  odd?: number;
}

class Filter {
  @IsOptional() @Type(() => Number) @IsInt() limit?: number;
}

const routes: ApiRoute[] = [
  {
    method: 'POST', path: '/things', operationId: 'createThing', tag: 'things', auth: { kind: 'bearer', roles: ['Admin'] },
    pathParams: [], body: { json: Thing }, successStatus: 201, rateLimit: 'upload',
  },
  {
    method: 'GET', path: '/things/{id}', operationId: 'getThing', tag: 'things', auth: { kind: 'bearer' },
    pathParams: [{ name: 'id', description: 'a thing id' }], query: Filter, queryParams: ['expand'], headers: ['range'], successStatus: 200,
  },
  {
    method: 'POST', path: '/things/{id}/files', operationId: 'addFile', tag: 'things', auth: { kind: 'bearer', roles: ['Admin'], apiKey: true },
    pathParams: [{ name: 'id' }],
    body: { multipart: { fields: Base, files: [{ name: 'file', required: true, description: 'bytes' }, { name: '^extra\\.', pattern: true, required: false, description: 'more' }] } },
    successStatus: 202,
  },
  { method: 'GET', path: '/healthz', operationId: 'healthz', tag: 'operations', auth: { kind: 'public' }, pathParams: [], successStatus: 200 },
];

describe('JSON Schemas from class-validator decorators', () => {
  it('keeps each rule, nested DTOs as references, inherited fields and custom rules in words', () => {
    const dtos = new DtoSchemas('#/s/');
    expect(dtos.ref(Thing)).toEqual({ $ref: '#/s/Thing' });
    expect(dtos.schemas['Thing']).toEqual({
      type: 'object',
      additionalProperties: false,
      required: ['size', 'name'],
      properties: {
        name: { type: 'string', pattern: '^[a-z]+$', description: 'name must be lowercase letters' },
        kind: { enum: ['a', 'b'] },
        size: { $ref: '#/s/Size' },
        spares: { type: 'array', maxItems: 3, items: { $ref: '#/s/Size' } },
        tags: { type: 'array', items: { type: 'string' } },
        odd: { type: 'number', description: 'odd must be odd' },
      },
    });
    expect(dtos.schemas['Size']).toMatchObject({ properties: { cores: { type: 'integer', minimum: 1, maximum: 8 } } });
  });
});

describe('the OpenAPI document of a route list', () => {
  const doc = buildOpenApiDocument({ title: 'T', version: '1' }, routes);

  it('is valid OpenAPI 3.1', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors).toBeUndefined();
  });

  it('describes bodies, parameters, credentials and error responses of each route', () => {
    const create = doc.paths['/things']['post'];
    expect(create).toMatchObject({
      requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } },
      security: [{ bearerAuth: [] }],
      'x-roles': ['Admin'],
      responses: { 201: {}, 400: {}, 401: {}, 403: {}, 429: {}, default: {} },
    });
    const get = doc.paths['/things/{id}']['get'];
    expect(get['parameters']).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'a thing id' },
      { name: 'limit', in: 'query', required: false, schema: { type: 'integer' } },
      { name: 'expand', in: 'query', required: false, schema: { type: 'string' } },
      { name: 'range', in: 'header', required: false, schema: { type: 'string' } },
    ]);
    expect(get['description']).toBe('Any role.');
    const upload = doc.paths['/things/{id}/files']['post'];
    expect(upload['security']).toEqual([{ bearerAuth: [] }, { registrationApiKey: [] }]);
    expect(upload['requestBody']).toMatchObject({
      required: true,
      content: {
        'multipart/form-data': {
          schema: {
            required: ['name', 'file'],
            properties: { name: { pattern: '^[a-z]+$' }, file: { contentMediaType: 'application/octet-stream' } },
            patternProperties: { '^extra\\.': { type: 'string' } },
          },
        },
      },
    });
    expect(upload['responses']).toHaveProperty('413');
    expect(doc.paths['/healthz']['get']).toMatchObject({ security: [], description: 'No credentials needed.' });
    expect(doc.paths['/healthz']['get']['responses']).not.toHaveProperty('400');
  });

  it('makes a JSON body optional when none of its fields is required', () => {
    const optional = buildOpenApiDocument({ title: 'T', version: '1' }, [{ ...routes[0], body: { json: Filter } }]);
    expect(optional.paths['/things']['post']['requestBody']).toMatchObject({ required: false });
  });
});
