import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness.js';

// What the gateway serves of the dashboard; the page itself runs in Chromium in test/e2e/dashboard.e2e.spec.ts.

let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGatewayHarness('dashboard');
}, 30_000);

afterAll(async () => {
  await harness?.close();
});

const get = (path: string) => fetch(`${harness.baseUrl}${path}`);

describe('the dashboard files', () => {
  it('serves the page at / without a token, allowing scripts, styles and connections to this origin only', async () => {
    const response = await get('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(response.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toContain('<script type="module" src="/dashboard/app.js"></script>');
  });

  it('serves every file the page and its modules refer to, with its content type', async () => {
    const html = await (await get('/')).text();
    const pending = [...html.matchAll(/(?:src|href)="(\/dashboard\/[^"]+)"/g)].map((m) => m[1]!);
    const seen = new Map<string, string>();
    while (pending.length > 0) {
      const path = pending.pop()!;
      if (seen.has(path)) continue;
      const response = await get(path);
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
      const type = response.headers.get('content-type') ?? '';
      seen.set(path, type);
      // Relative ES module imports: `from './charts.js'`.
      if (path.endsWith('.js')) for (const [, name] of (await response.text()).matchAll(/from '\.\/([^']+)'/g)) pending.push(`/dashboard/${name}`);
    }
    expect(Object.fromEntries(seen)).toEqual({
      '/dashboard/app.js': 'text/javascript; charset=utf-8',
      '/dashboard/charts.js': 'text/javascript; charset=utf-8',
      '/dashboard/session.js': 'text/javascript; charset=utf-8',
      '/dashboard/dashboard.css': 'text/css; charset=utf-8',
      '/dashboard/favicon.svg': 'image/svg+xml; charset=utf-8',
    });
  });

  it.each([
    ['/dashboard/missing.js', 'missing.js'],
    ['/dashboard/index.html', 'index.html'],
    ['/dashboard/..%2Fdashboard.controller.ts', '../dashboard.controller.ts'],
    ['/dashboard/app.js%00.css', 'app.js\u0000.css'],
  ])('answers 404 naming the file for %s, which is not one of its files', async (path, name) => {
    const response = await get(path);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { message: string }).message).toBe(`the dashboard has no file "${name}"`);
  });
});
