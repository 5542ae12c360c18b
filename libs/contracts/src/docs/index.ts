export { DtoSchemas, type DtoClass, type JsonSchema } from './json-schema.js';
export {
  buildOpenApiDocument, ERROR_BODY_SCHEMA, type ApiRoute, type FilePart, type HttpMethod, type OpenApiDocument, type OpenApiInfo,
} from './openapi.js';
