import 'reflect-metadata';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage.js';
import { getMetadataStorage } from 'class-validator';

type ValidationMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];

/** A JSON Schema (2020-12 dialect, as OpenAPI 3.1 and AsyncAPI payloads take it). */
export type JsonSchema = { [keyword: string]: unknown };

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- class-validator keys its metadata by constructor
export type DtoClass = Function & { prototype: object };

/**
 * JSON Schemas of class-validator DTOs, read from the decorators' metadata at run time, so a new
 * DTO or constraint shows in the API documents without anyone copying it. Nested DTOs (`@Type`)
 * become `$ref`s to `<refPrefix><ClassName>`; every class met is kept in `schemas`.
 */
export class DtoSchemas {
  readonly schemas: Record<string, JsonSchema> = {};
  private readonly seen = new Map<DtoClass, string>();

  constructor(private readonly refPrefix: string) {}

  /** A `$ref` to the class's schema, adding it (and the classes it nests) to `schemas`. */
  ref(dto: DtoClass): JsonSchema {
    return { $ref: `${this.refPrefix}${this.add(dto)}` };
  }

  /** The properties of a DTO used as separate parameters (query strings, form fields). */
  properties(dto: DtoClass): Array<{ name: string; required: boolean; schema: JsonSchema }> {
    const schema = this.build(dto);
    const required = new Set(schema['required'] as string[] | undefined);
    return Object.entries(schema['properties'] as Record<string, JsonSchema>).map(([name, property]) => ({
      name, required: required.has(name), schema: property,
    }));
  }

  private add(dto: DtoClass): string {
    const known = this.seen.get(dto);
    if (known !== undefined) return known;
    const name = this.uniqueName(dto.name);
    this.seen.set(dto, name);
    this.schemas[name] = this.build(dto);
    return name;
  }

  private uniqueName(base: string): string {
    let name = base;
    for (let n = 2; name in this.schemas || [...this.seen.values()].includes(name); n += 1) name = `${base}${n}`;
    return name;
  }

  private build(dto: DtoClass): JsonSchema {
    const grouped = getMetadataStorage().groupByPropertyName(
      getMetadataStorage().getTargetValidationMetadatas(dto, '', false, false),
    );
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const [property, metadata] of Object.entries(grouped)) {
      properties[property] = this.propertySchema(dto, property, metadata);
      if (!metadata.some(isOptional)) required.push(property);
    }
    return {
      type: 'object',
      properties,
      ...(required.length > 0 ? { required } : {}),
      // The gateway's ValidationPipe refuses unknown properties (forbidNonWhitelisted).
      additionalProperties: false,
    };
  }

  private propertySchema(dto: DtoClass, property: string, metadata: readonly ValidationMetadata[]): JsonSchema {
    const own: JsonSchema = {};
    const items: JsonSchema = {};
    const descriptions: string[] = [];
    const nested = nestedClass(dto, property);
    for (const meta of metadata) {
      if (meta.type === 'nestedValidation') {
        if (nested !== undefined) Object.assign(meta.each || isArrayProperty(dto, property, metadata) ? items : own, this.ref(nested));
        continue;
      }
      const keywords = constraintKeywords(meta);
      if (keywords === undefined) {
        if (meta.type === 'customValidation') descriptions.push(messageOf(meta) ?? defaultMessageOf(meta, property) ?? meta.name ?? 'custom rule');
        continue;
      }
      Object.assign(meta.each ? items : own, keywords);
      const message = messageOf(meta);
      if (message !== undefined && !descriptions.includes(message)) descriptions.push(message);
    }
    // A `$ref` says it all; `@IsObject` beside `@ValidateNested` adds nothing to it.
    if (own['$ref'] !== undefined) delete own['type'];
    if (Object.keys(items).length > 0) {
      own['type'] ??= 'array';
      own['items'] = items;
    }
    if (own['type'] === undefined && own['$ref'] === undefined && own['enum'] === undefined) {
      const designed = designType(dto, property);
      if (designed !== undefined) Object.assign(own, designed);
    }
    if (descriptions.length > 0) own['description'] = descriptions.join('; ');
    return own;
  }
}

const isOptional = (meta: ValidationMetadata) => meta.type === 'conditionalValidation' && meta.name === 'isOptional';

function isArrayProperty(dto: DtoClass, property: string, metadata: readonly ValidationMetadata[]): boolean {
  return metadata.some((meta) => meta.name === 'isArray') || Reflect.getMetadata('design:type', dto.prototype, property) === Array;
}

/** The class `@Type(() => X)` names for a property, when X is a DTO (not Number, String…). */
function nestedClass(dto: DtoClass, property: string): DtoClass | undefined {
  const found = defaultMetadataStorage.findTypeMetadata(dto, property);
  const type = found?.typeFunction() as DtoClass | undefined;
  return type === undefined || [Number, String, Boolean, Date, Object, Array].includes(type as never) ? undefined : type;
}

function designType(dto: DtoClass, property: string): JsonSchema | undefined {
  const type: unknown = Reflect.getMetadata('design:type', dto.prototype, property);
  if (type === String) return { type: 'string' };
  if (type === Number) return { type: 'number' };
  if (type === Boolean) return { type: 'boolean' };
  if (type === Array) return { type: 'array' };
  if (type === Object) return {};
  return undefined;
}

function messageOf(meta: ValidationMetadata): string | undefined {
  return typeof meta.message === 'string' ? meta.message : undefined;
}

/** What a custom constraint (`@ValidateBy`) says when it fails: the rule in words. */
function defaultMessageOf(meta: ValidationMetadata, property: string): string | undefined {
  try {
    const constraint = new (meta.constraintCls as new () => { defaultMessage?: (args: unknown) => string })();
    const message = constraint.defaultMessage?.({ property, constraints: meta.constraints, value: '<value>', targetName: '', object: {} });
    return message?.replace(/\$property/g, property);
  } catch {
    return undefined;
  }
}

/** The JSON Schema keywords of one class-validator constraint; undefined for those it cannot say. */
function constraintKeywords(meta: ValidationMetadata): JsonSchema | undefined {
  const [first, second] = (meta.constraints ?? []) as unknown[];
  switch (meta.name) {
    case 'isString': return { type: 'string' };
    case 'isNumber': return { type: 'number' };
    case 'isInt': return { type: 'integer' };
    case 'isBoolean': return { type: 'boolean' };
    case 'isArray': return { type: 'array' };
    case 'isObject': return { type: 'object' };
    case 'isIn': return { enum: [...(first as unknown[])] };
    case 'matches': return { type: 'string', pattern: (first instanceof RegExp ? first.source : String(first)) };
    case 'maxLength': return { maxLength: first };
    case 'minLength': return { minLength: first };
    case 'min': return { minimum: first };
    case 'max': return { maximum: first };
    case 'isPositive': return { exclusiveMinimum: 0 };
    case 'arrayMinSize': return { minItems: first };
    case 'arrayMaxSize': return { maxItems: first };
    case 'isIso8601': return { type: 'string', format: 'date-time' };
    // JSON Schema's own format for ISO 8601 durations (`PT15M`).
    case 'isIsoDuration': return { type: 'string', format: 'duration' };
    case 'isDateString': return { type: 'string', format: 'date-time' };
    case 'arrayNotEmpty': return { minItems: 1 };
    case 'arrayUnique': return { uniqueItems: true };
    case 'isUrl': return { type: 'string', format: 'uri' };
    case 'isBase64': return { type: 'string', contentEncoding: 'base64' };
    case 'isDefined': return {};
    case 'isLength': return { minLength: first, ...(second === undefined ? {} : { maxLength: second }) };
    default: return undefined;
  }
}
