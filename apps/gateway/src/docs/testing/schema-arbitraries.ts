import fc from 'fast-check';
import type { JsonSchema } from '@hotswap/contracts';

/**
 * fast-check arbitraries from the JSON Schemas of the OpenAPI document: values that follow the
 * schema ("valid-ish": the schema cannot say every rule, e.g. cross-field ones), and mutations
 * of them that break one rule, each naming the property it broke.
 */

export type Resolve = (schema: JsonSchema) => JsonSchema;

/** Resolves `#/components/schemas/X` references against the document. */
export function resolver(doc: JsonSchema): Resolve {
  const schemas = (doc['components'] as { schemas: Record<string, JsonSchema> }).schemas;
  const resolve: Resolve = (schema) => {
    const ref = schema['$ref'];
    return typeof ref === 'string' ? resolve(schemas[ref.replace('#/components/schemas/', '')] ?? {}) : schema;
  };
  return resolve;
}

const LIMIT = { items: 4, string: 24, depth: 2 };

/** A value the schema accepts. */
export function valueOf(schema: JsonSchema, resolve: Resolve, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  if (Array.isArray(s['enum'])) return fc.constantFrom(...(s['enum'] as unknown[]));
  if ('const' in s) return fc.constant(s['const']);
  switch (s['type']) {
    case 'string': return stringOf(s);
    case 'integer': return fc.integer({ min: num(s['minimum'], -1000), max: num(s['maximum'], 100_000) });
    case 'number': {
      const min = s['exclusiveMinimum'] !== undefined ? num(s['exclusiveMinimum'], 0) + 0.001 : num(s['minimum'], -1000);
      return fc.double({ min, max: num(s['maximum'], 100_000), noNaN: true, noDefaultInfinity: true });
    }
    case 'boolean': return fc.boolean();
    case 'array': {
      const min = num(s['minItems'], 0);
      const items = s['items'] === undefined ? fc.jsonValue({ maxDepth: 1 }) : valueOf(s['items'] as JsonSchema, resolve, depth + 1);
      return fc.array(items, { minLength: min, maxLength: Math.max(min, Math.min(num(s['maxItems'], LIMIT.items), LIMIT.items)) });
    }
    case 'object': {
      const properties = s['properties'] as Record<string, JsonSchema> | undefined;
      if (properties === undefined || depth > LIMIT.depth + 1) return fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
      const required = (s['required'] ?? []) as string[];
      const model = Object.fromEntries(Object.entries(properties).map(([name, p]) => [name, valueOf(p, resolve, depth + 1)]));
      // Sometimes only the required properties: optional ones often carry rules a schema cannot say (ISO durations).
      const minimal = Object.fromEntries(Object.entries(model).filter(([name]) => required.includes(name)));
      return fc.oneof(fc.record(model, { requiredKeys: required }), fc.record(minimal));
    }
    default: return fc.jsonValue({ maxDepth: 1 });
  }
}

function stringOf(s: JsonSchema): fc.Arbitrary<string> {
  const maxLength = Math.min(num(s['maxLength'], LIMIT.string), LIMIT.string);
  if (s['format'] === 'date-time') {
    return fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
  }
  if (s['format'] === 'uri') return fc.webUrl();
  if (s['format'] === 'duration') return fc.constantFrom('PT0S', 'PT0.5S', 'PT30S', 'PT15M', 'PT1H', 'P1D', 'P1DT12H', 'P1W');
  if (typeof s['pattern'] === 'string') {
    return fc.stringMatching(new RegExp(s['pattern'])).filter((v) => v.length <= num(s['maxLength'], Infinity));
  }
  return fc.string({ minLength: num(s['minLength'], 0), maxLength: Math.max(maxLength, num(s['minLength'], 0)) });
}

function num(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

/** A value of another JSON type than the schema's (or, for a schema without a type, an object it likely refuses). */
export function wrongValueOf(schema: JsonSchema, resolve: Resolve): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  const type = s['properties'] !== undefined ? 'object' : s['type'];
  const all: Record<string, fc.Arbitrary<unknown>> = {
    string: fc.string({ maxLength: 8 }),
    number: fc.double({ noNaN: true, noDefaultInfinity: true }),
    boolean: fc.boolean(),
    null: fc.constant(null),
    array: fc.array(fc.integer(), { maxLength: 2 }),
    object: fc.constant({ unexpected: 1 }),
  };
  const others = Object.entries(all)
    .filter(([name]) => name !== type && !(type === 'integer' && name === 'number') && !(type === 'number' && name === 'integer'))
    .map(([, arbitrary]) => arbitrary);
  // A number out of the declared range is wrong too.
  if ((type === 'integer' || type === 'number') && typeof s['maximum'] === 'number') others.push(fc.constant((s['maximum'] as number) + 1));
  if (type === 'integer') others.push(fc.constant(1.5));
  if (Array.isArray(s['enum'])) others.push(fc.constant('not-one-of-them'));
  return fc.oneof(...others);
}

/** A body that breaks one rule of an object schema, and the property it broke (when there is one). */
export interface Mutation {
  readonly body: unknown;
  readonly blame?: string;
  readonly how: string;
}

export function mutationOf(schema: JsonSchema, resolve: Resolve): fc.Arbitrary<Mutation> {
  const s = resolve(schema);
  const properties = (s['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = (s['required'] ?? []) as string[];
  // The base leaves out optional properties whose schema says no type: a generated value would rarely pass their rule.
  const typed = (p: JsonSchema) => ['type', 'enum', 'properties', 'const'].some((key) => key in resolve(p));
  const base = { ...s, properties: Object.fromEntries(Object.entries(properties).filter(([name, p]) => typed(p) || required.includes(name))) };
  const valid = valueOf(base, resolve) as fc.Arbitrary<Record<string, unknown>>;
  const mutations: Array<fc.Arbitrary<Mutation>> = [
    valid.map((body) => ({ body: { ...body, fuzzUnknownField: 1 }, blame: 'fuzzUnknownField', how: 'an unknown property' })),
    fc.constantFrom<unknown>([], 'text', 42, true, [{}]).map((body) => ({ body, how: 'not an object' })),
  ];
  if (required.length > 0) {
    mutations.push(fc.tuple(valid, fc.constantFrom(...required)).map(([body, name]) => {
      const { [name]: _dropped, ...rest } = body;
      return { body: rest, blame: name, how: `without required ${name}` };
    }));
  }
  const names = Object.keys(properties);
  if (names.length > 0) {
    mutations.push(fc.tuple(valid, fc.constantFrom(...names)).chain(([body, name]) => {
      // A property whose schema says no type may take the wrong value too: no one to blame then.
      return wrongValueOf(properties[name], resolve).map((wrong) => ({
        body: { ...body, [name]: wrong }, ...(typed(properties[name]) ? { blame: name } : {}), how: `${name} of a wrong type or range`,
      }));
    }));
  }
  return fc.oneof(...mutations);
}
