import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import * as contracts from '../index.js';
import { DtoSchemas, type DtoClass, type JsonSchema } from './json-schema.js';
import { TypeSchemas } from './type-schemas.js';

/**
 * The AsyncAPI 3.0 document of every NATS subject HotSwap uses, generated from `libs/contracts`:
 * the subjects from `Commands`, `Queries` and `DeviceSubjects`, the events from
 * `EVENT_SCHEMA_VERSIONS` and the `<Aggregate>Event` unions, the payloads from the DTO classes'
 * decorators or, for interfaces, from their TypeScript declarations. A new subject, event or
 * field appears by itself; only which type travels on a subject is named below, for the subjects
 * whose doc comment does not say it (`` `Request` → `Reply` ``).
 */

interface Payloads {
  /** A type the contracts export (`ModelView`, `Page<ModelView>`), or a schema for a shape no type names. */
  readonly request?: string | JsonSchema;
  readonly reply?: string | JsonSchema;
  /** Device plane: the control plane sends it to the device (otherwise the device sends it). */
  readonly toDevice?: boolean;
}

const BY_ID = 'ByIdQuery';

/** Payload types of the subjects whose doc comment does not name them. */
const PAYLOADS: Readonly<Record<string, Payloads>> = {
  'Commands.uploadModel': { request: 'UploadModelCommand', reply: 'ModelView' },
  'Commands.createDistribution': { request: 'CreateDistributionCommand', reply: 'CreatedReply' },
  'Commands.registerDevice': { request: 'RegisterDeviceCommand', reply: 'DeviceRegistration' },
  'Commands.updateDevice': { request: 'UpdateDeviceCommand', reply: 'DeviceView' },
  'Commands.deregisterDevice': { request: 'DeregisterDeviceCommand', reply: 'CreatedReply' },
  'Commands.validateModel': { request: 'ValidateModelCommand', reply: 'ValidationStartedReply' },
  'Commands.deprecateModelVersion': { request: 'DeprecateModelVersionCommand', reply: 'ModelView' },
  'Commands.deleteModelVersion': { request: 'ModelVersionCommand', reply: 'ModelVersionDeletedReply' },
  'Commands.rollbackModelVersion': { request: 'ModelVersionCommand', reply: 'CreatedReply' },
  'Commands.registerDataset': { request: 'RegisterDatasetCommand', reply: 'DatasetView' },
  'Commands.controlDistribution': { reply: 'DistributionStatusView' },
  'Commands.reportDegradation': { reply: { type: 'object', required: ['accepted'], properties: { accepted: { type: 'boolean', description: 'false when the report changed nothing' } } } },
  'Queries.health': { request: { type: 'object' }, reply: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } } },
  'Queries.getModel': { request: BY_ID, reply: 'ModelView' },
  'Queries.getModelArtifact': { request: BY_ID, reply: 'ModelArtifactView' },
  'Queries.listModels': { request: 'ListModelsQuery', reply: 'Page<ModelView>' },
  'Queries.getModelVersion': { request: 'ModelVersionQuery', reply: 'ModelView' },
  'Queries.getDevice': { request: BY_ID, reply: 'DeviceView' },
  'Queries.listDevices': { request: 'ListDevicesQuery', reply: 'Page<DeviceView>' },
  'Queries.getDistributionStatus': { request: 'DistributionStatusQuery', reply: 'DistributionStatusView' },
  'Queries.getValidationReport': { request: BY_ID, reply: 'ValidationReportView' },
  'Queries.getDataset': { request: BY_ID, reply: 'DatasetView' },
  'Queries.getDeviceMetrics': { request: BY_ID, reply: 'DeviceMetricsView' },
  'DeviceSubjects.command': { request: 'SwapCommand', reply: 'CommandAck', toDevice: true },
  'DeviceSubjects.validate': { request: 'DeviceValidationRequest', reply: 'DeviceValidationReply', toDevice: true },
  'DeviceSubjects.sync': { request: 'SyncRequest', reply: 'SyncReply' },
  'DeviceSubjects.register': { request: 'DeviceAnnouncement', reply: 'RegisterReply' },
  'DeviceSubjects.heartbeat': { request: 'Heartbeat' },
  'DeviceSubjects.status': { request: 'DeviceStatusReport' },
  'DeviceSubjects.telemetry': { request: 'TelemetryWindow' },
  'DeviceSubjects.credentials': { request: 'CredentialsRequest', reply: 'CredentialsReply' },
  'DeviceSubjects.log': { request: 'DeviceLogLine' },
  'DeviceSubjects.artifact': {
    request: 'ArtifactChunkRequest',
    reply: {
      type: 'string', contentEncoding: 'binary',
      description: 'The chunk\'s bytes, with the artifact\'s size in the Hotswap-Artifact-Size header; a refusal is empty, with Hotswap-Error-Code and Hotswap-Error headers.',
    },
  },
};

/** The JetStream commit envelope (`libs/infrastructure` JetStreamEventStore): one message per decision. */
const COMMIT_ENVELOPE_FIELDS: JsonSchema = {
  commitId: { type: 'string', description: 'Idempotency key of the commit within its stream; the message\'s Nats-Msg-Id is `<subject>@<firstVersion>` (its version slot).' },
  stream: { type: 'string', description: 'The event-store stream, `<aggregate>-<id>`.' },
  recordedAt: { type: 'string', format: 'date-time' },
  firstVersion: { type: 'integer', minimum: 1, description: 'Stream version of the first event; the others follow in order.' },
};

interface Subject {
  /** `Commands.uploadModel` */
  readonly key: string;
  readonly group: 'Commands' | 'Queries' | 'DeviceSubjects';
  readonly name: string;
  readonly address: string;
  readonly parameters: readonly string[];
  readonly doc: string;
}

export type AsyncApiDocument = JsonSchema & { asyncapi: string; channels: Record<string, JsonSchema>; operations: Record<string, JsonSchema> };

/** @param contractsIndex path of `libs/contracts/src/index.ts` (the TypeScript declarations are read from there) */
export function buildAsyncApiDocument(contractsIndex: string): AsyncApiDocument {
  const docs = subjectDocComments(join(dirname(contractsIndex), 'subjects.ts'));
  const subjects = listSubjects(docs);
  const aggregates = Object.keys(contracts.Streams).map((key) => ({
    key, token: (contracts.Streams as Record<string, (id: string) => string>)[key]('x').replace(/-x$/, ''),
  }));
  const candidates = new Map(subjects.map((subject) => [subject.key, candidatesOf(subject)]));
  const unions = ['HotSwapEvent', ...aggregates.map((a) => `${pascal(a.key)}Event`)];
  const expressions = [...new Set([
    'EventMetadata', ...unions,
    ...[...candidates.values()].flatMap((c) => [...c.request, ...c.reply]).filter((e): e is string => typeof e === 'string'),
  ])];
  const types = new TypeSchemas(contractsIndex, '#/components/schemas/', expressions);
  const dtos = new DtoSchemas('#/components/schemas/');
  const schemaOf = (expression: string): JsonSchema => {
    const runtime = (contracts as Record<string, unknown>)[expression];
    if (typeof runtime === 'function' && /^class\s/.test(Function.prototype.toString.call(runtime))) return dtos.ref(runtime as DtoClass);
    return types.schemaOf(expression);
  };
  const resolvable = (expression: string | JsonSchema) => typeof expression !== 'string' || (types.has(expression.replace(/<.*$/, ''))
    && [...expression.matchAll(/<(\w+)>/g)].every(([, argument]) => types.has(argument)));
  const payloadOf = (expression: string | JsonSchema) => (typeof expression === 'string' ? schemaOf(expression) : expression);

  const channels: Record<string, JsonSchema> = {};
  const operations: Record<string, JsonSchema> = {};
  const messages: Record<string, JsonSchema> = {};
  const message = (name: string, payload: JsonSchema, summary: string): JsonSchema => {
    messages[name] = { name, title: name, summary, contentType: 'application/json', headers: { $ref: '#/components/schemas/NatsHeaders' }, payload };
    return { $ref: `#/components/messages/${name}` };
  };
  const unknownPayload = (what: string): JsonSchema => ({ type: 'object', description: `${what}: see libs/contracts (not yet described here)` });

  for (const subject of subjects) {
    const options = candidates.get(subject.key) as Candidates;
    const request = options.request.find(resolvable);
    const reply = options.reply.find(resolvable);
    const toDevice = options.toDevice;
    const id = subject.group === 'DeviceSubjects' ? `device${pascal(subject.name)}` : subject.name;
    const requestName = `${pascal(id)}${subject.group === 'Queries' ? 'Query' : subject.group === 'Commands' ? 'Command' : ''}`;
    channels[id] = {
      address: subject.address,
      title: subject.key,
      ...(subject.doc ? { description: subject.doc } : {}),
      ...(subject.parameters.length > 0 ? { parameters: Object.fromEntries(subject.parameters.map((p) => [p, parameter(p)])) } : {}),
      messages: {
        request: message(requestName, request !== undefined ? payloadOf(request) : unknownPayload('request'), `${subject.key} request`),
      },
    };
    // Commands and queries always answer; on the device plane only requests do.
    const isRequestReply = subject.group !== 'DeviceSubjects' || options.reply.length > 0;
    if (isRequestReply) {
      channels[`${id}Reply`] = {
        address: null,
        description: `The reply to ${subject.address}, on the requester's inbox.`,
        messages: {
          reply: message(`${pascal(id)}Reply`, replyEnvelope(subject, reply !== undefined ? payloadOf(reply) : unknownPayload('reply')), `${subject.key} reply`),
        },
      };
    }
    operations[id] = {
      // The document speaks for the HotSwap control plane.
      action: toDevice ? 'send' : 'receive',
      channel: { $ref: `#/channels/${id}` },
      summary: subject.doc.split('\n')[0] || subject.key,
      messages: [{ $ref: `#/channels/${id}/messages/request` }],
      ...(isRequestReply ? { reply: { channel: { $ref: `#/channels/${id}Reply` }, messages: [{ $ref: `#/channels/${id}Reply/messages/reply` }] } } : {}),
    };
  }

  const events = eventSchemas(types, unions);
  for (const aggregate of aggregates) {
    const members = events.byUnion.get(`${pascal(aggregate.key)}Event`) ?? [];
    const id = `${aggregate.key}Events`;
    channels[id] = {
      address: `${contracts.EVENTS_SUBJECT_PREFIX}.${aggregate.token}.{id}`,
      title: `${aggregate.key} events`,
      description: `Domain events of ${aggregate.key} streams (JetStream stream ${contracts.EVENTS_STREAM}): one message per commit, `
        + `holding every event of one decision in order. Event types (schema version): ${members.map((t) => `${t} (v${contracts.EVENT_SCHEMA_VERSIONS[t as contracts.HotSwapEventType]})`).join(', ')}.`,
      parameters: { id: { description: `The ${aggregate.key} id, encoded as a subject token (encodeSubjectToken: "." and wildcards become %XX).` } },
      messages: {
        commit: message(`${pascal(aggregate.key)}EventCommit`, {
          type: 'object',
          required: ['commitId', 'stream', 'recordedAt', 'firstVersion', 'events'],
          properties: {
            ...COMMIT_ENVELOPE_FIELDS,
            events: { type: 'array', minItems: 1, items: members.length > 0 ? { oneOf: members.map((t) => ({ $ref: `#/components/schemas/${t}` })) } : {} },
          },
        }, `a commit of ${aggregate.key} events`),
      },
    };
    operations[id] = {
      action: 'send',
      channel: { $ref: `#/channels/${id}` },
      summary: `HotSwap publishes every ${aggregate.key} event; subscribe to ${contracts.EVENTS_SUBJECT_PREFIX}.${aggregate.token}.> (or consume ${contracts.EVENTS_STREAM}).`,
      messages: [{ $ref: `#/channels/${id}/messages/commit` }],
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'HotSwap NATS API',
      version: '1',
      description: 'Every NATS subject of HotSwap: commands (hotswap.cmd.*) and queries (hotswap.qry.*) as request/reply, '
        + 'the device plane (hotswap.device.<deviceId>.*, core NATS) and the domain events (hotswap.events.<aggregate>.<id>, JetStream). '
        + 'Generated from libs/contracts by `npm run docs`; do not edit by hand.',
    },
    defaultContentType: 'application/json',
    servers: {
      nats: { host: '127.0.0.1:4222', protocol: 'nats', description: 'Each service and device connects with its own credentials.' },
    },
    channels,
    operations,
    components: {
      schemas: sortedObject({
        ...types.schemas, ...events.schemas, ...dtos.schemas,
        ReplyError: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: { type: 'string', enum: Object.keys(contracts.ERROR_CODES), description: 'Maps to an HTTP status at the gateway (ERROR_CODES).' },
            message: { type: 'string' },
            details: {},
          },
        },
        NatsHeaders: {
          type: 'object',
          properties: { traceparent: { type: 'string', description: 'W3C trace context, carried by every message.' } },
        },
      }),
      messages: sortedObject(messages),
    },
  };
}

/**
 * Command and query replies come enveloped (`{ ok: true, result }` / `{ ok: false, error }`); the
 * device plane answers bare, or `{ error }` (MessageBus `envelope: false`).
 */
function replyEnvelope(subject: Subject, result: JsonSchema): JsonSchema {
  const error = { $ref: '#/components/schemas/ReplyError' };
  return subject.group === 'DeviceSubjects'
    ? { anyOf: [result, { type: 'object', required: ['error'], properties: { error } }] }
    : {
      anyOf: [
        { type: 'object', required: ['ok', 'result'], properties: { ok: { const: true }, result } },
        { type: 'object', required: ['ok', 'error'], properties: { ok: { const: false }, error } },
      ],
    };
}

/** Each event type as `{ type, data, metadata }`, its schema version stated, grouped by aggregate union. */
function eventSchemas(types: TypeSchemas, unions: readonly string[]): { schemas: Record<string, JsonSchema>; byUnion: Map<string, string[]> } {
  const schemas: Record<string, JsonSchema> = {};
  const byUnion = new Map<string, string[]>();
  const versions = contracts.EVENT_SCHEMA_VERSIONS as Readonly<Record<string, number>>;
  types.schemaOf('EventMetadata');
  for (const union of unions) {
    if (!types.has(union)) continue;
    const members = types.unionMembers(union).filter((member) => member.literal in versions);
    byUnion.set(union, members.map((member) => member.literal).sort());
    for (const { literal, schema, description } of members) {
      const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
      schemas[literal] = {
        ...schema,
        description: `${description ? `${description} ` : ''}Schema version ${versions[literal]}.`,
        properties: { ...properties, metadata: { $ref: '#/components/schemas/EventMetadata' } },
        'x-schema-version': versions[literal],
      };
    }
  }
  return { schemas, byUnion };
}

function listSubjects(docs: ReadonlyMap<string, string>): Subject[] {
  const groups = { Commands: contracts.Commands, Queries: contracts.Queries, DeviceSubjects: contracts.DeviceSubjects } as const;
  return (Object.keys(groups) as Array<keyof typeof groups>).flatMap((group) =>
    Object.entries(groups[group] as Record<string, unknown>).flatMap(([name, value]): Subject[] => {
      const key = `${group}.${name}`;
      if (typeof value === 'string') return [{ key, group, name, address: value, parameters: [], doc: docs.get(key) ?? '' }];
      if (typeof value !== 'function') return []; // DeviceSubjects.all: the wildcards of the subjects above
      const parameters = parameterNames(value as (...args: string[]) => string);
      const address = (value as (...args: string[]) => string)(...parameters.map((p) => `{${p}}`));
      return [{ key, group, name, address, parameters, doc: docs.get(key) ?? '' }];
    }));
}

interface Candidates {
  readonly request: ReadonlyArray<string | JsonSchema>;
  readonly reply: ReadonlyArray<string | JsonSchema>;
  readonly toDevice: boolean;
}

/** What a subject may carry, best first: the table above, its doc comment (`` `A` → `B` ``), the naming convention. */
function candidatesOf(subject: Subject): Candidates {
  const listed = PAYLOADS[subject.key];
  const [, docRequest, docReply] = /`([^`]+)`\s*→\s*`([^`]+)`/.exec(subject.doc) ?? /^`([A-Z][^`]*)`/.exec(subject.doc) ?? [];
  const convention = `${pascal(subject.name)}${subject.group === 'Queries' ? 'Query' : 'Command'}`;
  const defined = (list: Array<string | JsonSchema | undefined>) =>
    list.filter((e): e is string | JsonSchema => e !== undefined && (typeof e !== 'string' || TYPE_EXPRESSION.test(e)));
  return {
    request: defined([listed?.request, docRequest === '{ id }' ? BY_ID : docRequest, convention]),
    reply: defined([listed?.reply, docReply]),
    toDevice: listed?.toDevice ?? false,
  };
}

/** `ModelView`, `Page<ModelView>`: what the probe can name. */
const TYPE_EXPRESSION = /^[A-Z]\w*(<[A-Z]\w*>)?$/;

function parameter(name: string): JsonSchema {
  return name === 'service'
    ? { enum: Object.values(contracts.Services), description: 'The service asked.' }
    : { description: `The ${name}, encoded as a subject token (encodeSubjectToken).` };
}

/** `(deviceId) => …` → `['deviceId']`. */
function parameterNames(fn: (...args: string[]) => string): string[] {
  const match = /^\s*(?:function\s*\w*)?\s*\(?([^)=]*)\)?\s*=>/.exec(Function.prototype.toString.call(fn));
  return (match?.[1] ?? '').split(',').map((p) => p.trim().replace(/[:=].*$/, '').trim()).filter(Boolean);
}

/** The doc comment of each property of `Commands`, `Queries` and `DeviceSubjects`, read from subjects.ts. */
function subjectDocComments(subjectsFile: string): Map<string, string> {
  const source = ts.createSourceFile(subjectsFile, readFileSync(subjectsFile, 'utf8'), ts.ScriptTarget.ES2022, true);
  const docs = new Map<string, string>();
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      let initializer = declaration.initializer;
      while (initializer && (ts.isAsExpression(initializer) || ts.isSatisfiesExpression(initializer))) initializer = initializer.expression;
      if (!ts.isIdentifier(declaration.name) || initializer === undefined || !ts.isObjectLiteralExpression(initializer)) continue;
      for (const property of initializer.properties) {
        const comment = ts.getJSDocCommentsAndTags(property).map((node) => ts.getTextOfJSDocComment((node as ts.JSDoc).comment) ?? '').join('\n');
        if (property.name !== undefined && ts.isIdentifier(property.name)) docs.set(`${declaration.name.text}.${property.name.text}`, comment.trim());
      }
    }
  }
  return docs;
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function sortedObject<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
