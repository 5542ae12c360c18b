import { readdir, readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { Public } from '../auth/roles.js';

/**
 * Next to this file in the source tree, and copied next to the compiled file by `npm run build`,
 * so the same URL works from both.
 */
export const DASHBOARD_ASSETS_DIR = new URL('./assets/', import.meta.url);

/** The content type of each asset kind the dashboard has; other files in the folder are not served. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml; charset=utf-8',
};

const ASSET_NAME = /^[a-z0-9-]+\.(js|css|svg)$/;

/**
 * The page talks only to this origin; inline SVG charts are built through the DOM, so neither
 * inline scripts nor inline styles are needed.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // Small files, read once per process: revalidating costs nothing and an upgrade shows at once.
  'Cache-Control': 'no-cache',
};

interface Asset {
  readonly body: string;
  readonly contentType: string;
}

/**
 * The operator dashboard: `GET /` (the page) and `GET /dashboard/{file}` (its scripts and styles).
 * The files are public and static; the page asks for a token and sends it on every API call, so
 * the API's RBAC still decides what each user may do.
 */
@Controller()
@Public()
export class DashboardController {
  private assets?: Promise<ReadonlyMap<string, Asset>>;

  @Get()
  async dashboardPage(@Res({ passthrough: true }) response: ServerResponse): Promise<string> {
    return this.send(response, (await this.load()).get('index.html'), 'index.html');
  }

  @Get('dashboard/:file')
  async dashboardAsset(@Param('file') file: string, @Res({ passthrough: true }) response: ServerResponse): Promise<string> {
    const asset = ASSET_NAME.test(file) ? (await this.load()).get(file) : undefined;
    return this.send(response, asset, file);
  }

  private send(response: ServerResponse, asset: Asset | undefined, name: string): string {
    if (asset === undefined) throw new NotFoundException(`the dashboard has no file "${name}"`);
    response.setHeader('Content-Type', asset.contentType);
    for (const [header, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(header, value);
    return asset.body;
  }

  /** Reads the folder once: the set of files is fixed, so a request can only name one of them. */
  private load(): Promise<ReadonlyMap<string, Asset>> {
    this.assets ??= readAssets().catch((error: unknown) => {
      this.assets = undefined; // a missing build copy can be fixed without a restart
      throw error;
    });
    return this.assets;
  }
}

async function readAssets(): Promise<ReadonlyMap<string, Asset>> {
  const names = await readdir(DASHBOARD_ASSETS_DIR).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`dashboard assets missing at ${DASHBOARD_ASSETS_DIR.pathname} (npm run build copies them): ${error.message}`, { cause: error });
  });
  const entries = await Promise.all(names.flatMap((name) => {
    const contentType = CONTENT_TYPES[name.split('.').pop() ?? ''];
    if (contentType === undefined || !(name === 'index.html' || ASSET_NAME.test(name))) return [];
    return [readFile(new URL(name, DASHBOARD_ASSETS_DIR), 'utf8').then((body): [string, Asset] => [name, { body, contentType }])];
  }));
  return new Map(entries);
}
