import { Controller, Get, Header, type Type } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { buildOpenApiDocument, type OpenApiDocument } from '@hotswap/contracts';
import { Public } from '../auth/roles.js';
import { apiRoutes } from './api-routes.js';
import { renderApiPage } from './render-api-page.js';

export const API_INFO = {
  title: 'HotSwap API',
  version: '1',
  description: 'Ship AI models to fleets of edge devices: upload, validate, distribute, watch, roll back. '
    + 'Errors are { statusCode, error, message, details? } with a message naming the problem.',
} as const;

/**
 * `GET /docs/openapi.json` (OpenAPI 3.1) and `GET /docs` (the same as a readable page), built from
 * the routes of the running app and the DTOs' decorators, so they cannot drift from the code.
 */
@Controller('docs')
@Public()
export class DocsController {
  private document: OpenApiDocument | undefined;

  constructor(private readonly modules: ModulesContainer) {}

  @Get('openapi.json')
  openApi(): OpenApiDocument {
    return this.openApiDocument();
  }

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    return renderApiPage(this.openApiDocument());
  }

  private openApiDocument(): OpenApiDocument {
    // Routes are fixed once the app is up, so the document is built once.
    this.document ??= buildOpenApiDocument(API_INFO, apiRoutes(this.controllers()));
    return this.document;
  }

  private controllers(): Type[] {
    return [...this.modules.values()].flatMap((module) => [...module.controllers.values()].map((wrapper) => wrapper.metatype as Type));
  }
}
