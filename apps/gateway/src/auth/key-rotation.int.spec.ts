import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { Queries } from '@hotswap/contracts';
import { signUrl } from '@hotswap/infrastructure';
import { HARNESS_NOW, startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness.js';
import { issueDevToken } from './tokens.js';

/** A gateway in the middle of rotating its JWT and URL signing keys: what the old keys signed still works. */
let h: GatewayHarness;
const KEY = 'models/rotated-1.0.0/model.onnx';

beforeAll(async () => {
  h = await startGatewayHarness('rotation', {
    urlSigningSecret: 'url-new', urlSigningPreviousSecrets: ['url-old'], jwtPreviousSecrets: ['jwt-old'],
  });
  await h.store.put(KEY, Readable.from([Buffer.from('model bytes')]));
  await h.serve(Queries.listModels, () => ({ items: [], total: 0 }));
}, 30_000);

afterAll(async () => {
  await h?.close();
});

const tokenOf = (secret: string) => issueDevToken({ secret, subject: 'rita', roles: ['Viewer'], ttlSeconds: 600, now: HARNESS_NOW });
const models = async (token: string) => {
  const res = await fetch(`${h.baseUrl}/api/v1/models`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() as { message?: string } };
};
const download = async (secret: string) =>
  (await fetch(`${h.baseUrl}${signUrl('', KEY, { secret, expiresAt: new Date(HARNESS_NOW.getTime() + 60_000) })}`)).status;

describe('gateway - signing keys rotated with an overlap', () => {
  it('accepts user tokens of the current key and of a key being rotated out, and refuses any other', async () => {
    expect((await models(await tokenOf(h.jwtSecret))).status).toBe(200);
    expect((await models(await tokenOf('jwt-old'))).status).toBe(200);
    expect(await models(await tokenOf('jwt-stranger'))).toMatchObject({ status: 401, body: { message: 'the token signature is invalid' } });
  });

  it('serves download URLs signed with the current key and with a key being rotated out, and refuses any other', async () => {
    expect(await download('url-new')).toBe(200);
    expect(await download('url-old')).toBe(200);
    expect(await download('url-stranger')).toBe(403);
  });
});
