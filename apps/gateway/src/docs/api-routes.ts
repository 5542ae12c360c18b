import { RequestMethod, type Type } from '@nestjs/common';
import {
  GUARDS_METADATA, HTTP_CODE_METADATA, METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA,
} from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { DatasetFieldsDto, RegisterDatasetDto, UploadModelFieldsDto, type ApiRoute, type DtoClass, type HttpMethod } from '@hotswap/contracts';
import { Public, Roles } from '../auth/roles.js';
import { RegisterDatasetController } from '../datasets/register-dataset/register-dataset.controller.js';
import { INPUT_PART_PREFIX, LABELS_PART } from '../datasets/register-dataset/receive-dataset-form.js';
import { RegistrationCredentialsGuard } from '../devices/register-device/register-device.controller.js';
import { ARTIFACT_PART } from '../models/upload-model/receive-upload.js';
import { UploadModelController } from '../models/upload-model/upload-model.controller.js';
import { RateLimited } from '../rate-limits/rate-limit-rules.js';

/**
 * Bodies of the routes that read the raw request (multipart streams) instead of a `@Body()` DTO:
 * the only part of the route list that is not read from Nest's metadata.
 */
const RAW_BODIES = new Map<unknown, NonNullable<ApiRoute['body']>>([
  [UploadModelController.prototype.uploadModel, {
    multipart: {
      fields: UploadModelFieldsDto,
      files: [{ name: ARTIFACT_PART, required: true, description: 'the model file; its SHA-256 is computed while it streams' }],
    },
    description: 'Multipart; the artifact streams to storage.',
  }],
  [RegisterDatasetController.prototype.registerDataset, {
    json: RegisterDatasetDto,
    multipart: {
      fields: DatasetFieldsDto,
      files: [
        { name: `^${INPUT_PART_PREFIX.replace(/\./g, '\\.')}`, pattern: true, required: true, description: `NPY file of one model input, named ${INPUT_PART_PREFIX}<input>; first axis = samples` },
        { name: LABELS_PART, required: true, description: 'NPY file of the labels, one per sample' },
      ],
    },
    description: 'JSON, or a multipart form with NPY files.',
  }],
]);

/** Guards that let other credentials than a bearer token in. */
const API_KEY_GUARDS: ReadonlySet<unknown> = new Set([RegistrationCredentialsGuard]);

interface RouteArg {
  readonly index: number;
  readonly data?: unknown;
  readonly pipes?: readonly unknown[];
}

/** Every route of the controllers, read from the metadata Nest routes by. */
export function apiRoutes(controllers: readonly Type[]): ApiRoute[] {
  const routes = controllers.flatMap((controller) => {
    const prototype = controller.prototype as Record<string, unknown>;
    return Object.getOwnPropertyNames(prototype).flatMap((name) => {
      const handler = prototype[name];
      if (name === 'constructor' || typeof handler !== 'function') return [];
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (path === undefined || method === undefined) return [];
      return (Array.isArray(path) ? path : [path]).map((one) => ({ controller, route: describeRoute(controller, name, handler, one, method) }));
    });
  });
  // operationIds must be unique: a handler name two controllers share gets its controller's name in front.
  const counts = new Map<string, number>();
  for (const { route } of routes) counts.set(route.operationId, (counts.get(route.operationId) ?? 0) + 1);
  return routes.map(({ controller, route }) => ((counts.get(route.operationId) ?? 0) > 1
    ? { ...route, operationId: `${controller.name.replace(/Controller$/, '').replace(/^./, (c) => c.toLowerCase())}${route.operationId.replace(/^./, (c) => c.toUpperCase())}` }
    : route));
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- Nest keys handler metadata by the function
function describeRoute(controller: Type, name: string, handler: Function, handlerPath: string, requestMethod: RequestMethod): ApiRoute {
  const method = RequestMethod[requestMethod] as HttpMethod;
  const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
  const nestPath = `/${[base, handlerPath].map((part) => part.replace(/^\/+|\/+$/g, '')).filter((part) => part !== '').join('/')}`;
  const path = nestPath.replace(/[:*]([A-Za-z0-9_]+)/g, '{$1}');
  const args = Object.entries((Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as Record<string, RouteArg>);
  const paramTypes = (Reflect.getMetadata('design:paramtypes', controller.prototype, name) ?? []) as unknown[];
  const ofType = (type: RouteParamtypes) => args.filter(([key]) => key.split(':')[0] === String(type)).map(([, arg]) => arg);

  const bodyArg = ofType(RouteParamtypes.BODY).find((arg) => arg.data === undefined);
  const bodyType = bodyArg === undefined ? undefined : paramTypes[bodyArg.index];
  const body = RAW_BODIES.get(handler)
    ?? (bodyType !== undefined && bodyType !== Object ? { json: bodyType as DtoClass } : undefined);

  const queryArgs = ofType(RouteParamtypes.QUERY);
  const queryDto = queryArgs.find((arg) => arg.data === undefined);
  const metadataOf = <T>(key: string | symbol): T | undefined =>
    (Reflect.getMetadata(key, handler) as T | undefined) ?? (Reflect.getMetadata(key, controller) as T | undefined);
  const guards = [...(Reflect.getMetadata(GUARDS_METADATA, handler) ?? []), ...(Reflect.getMetadata(GUARDS_METADATA, controller) ?? [])] as unknown[];
  const roles = metadataOf<readonly string[]>(Roles.KEY);
  const apiKey = guards.some((guard) => API_KEY_GUARDS.has(guard));
  const auth: ApiRoute['auth'] = apiKey
    ? { kind: 'bearer', roles: ['Admin'], apiKey: true }
    : metadataOf<boolean>(Public.KEY) === true ? { kind: 'public' } : { kind: 'bearer', ...(roles ? { roles } : {}) };
  const rateLimit = metadataOf<string>(RateLimited.KEY);
  const httpCode = Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined;
  return {
    method,
    path,
    operationId: name,
    tag: /^\/api\/v1\/([^/]+)/.exec(path)?.[1] ?? 'operations',
    summary: sentence(name),
    auth,
    pathParams: ofType(RouteParamtypes.PARAM).filter((arg) => typeof arg.data === 'string').map((arg) => ({
      name: arg.data as string,
      ...(pipeKind(arg.pipes) ? { description: `a ${pipeKind(arg.pipes)}` } : {}),
    })),
    ...(queryDto !== undefined && typeof paramTypes[queryDto.index] === 'function' && paramTypes[queryDto.index] !== Object
      ? { query: paramTypes[queryDto.index] as DtoClass } : {}),
    queryParams: queryArgs.filter((arg) => typeof arg.data === 'string').map((arg) => arg.data as string),
    headers: ofType(RouteParamtypes.HEADERS).filter((arg) => typeof arg.data === 'string').map((arg) => arg.data as string),
    ...(body ? { body } : {}),
    successStatus: httpCode ?? (method === 'POST' ? 201 : 200),
    ...(rateLimit ? { rateLimit } : {}),
  };
}

/** `IdParamPipe('device id')` → `device id`. */
function pipeKind(pipes: readonly unknown[] | undefined): string | undefined {
  const kind = (pipes ?? []).map((pipe) => (pipe as { kind?: unknown }).kind).find((value) => typeof value === 'string');
  return kind as string | undefined;
}

/** `getValidationReport` → `Get validation report`. */
function sentence(name: string): string {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
