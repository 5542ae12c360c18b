import { describe, expect, it } from '@jest/globals';
import { credentialsLifetime, defaultFleetSpecs } from '@hotswap/edge-agent';
import { createNatsTrust } from '@hotswap/infrastructure';
import { withCredentials } from './fleet.js';

describe('simulated devices\' credentials', () => {
  it('are each device\'s own and expire after the given lifetime, so the agents renew them as real devices do', async () => {
    const now = new Date('2026-11-28T10:00:00Z');
    const specs = await withCredentials(defaultFleetSpecs(2, 'ttl'), await createNatsTrust(), 90_000, now);
    expect(specs.map((s) => s.deviceId)).toEqual(['ttl-001', 'ttl-002']);
    const [first, second] = specs.map((s) => s.credentials as string);
    expect(first).not.toBe(second);
    expect(first).toMatch(/^-----BEGIN NATS USER JWT-----\n/);
    expect(credentialsLifetime(first)).toEqual({ issuedAtMs: now.getTime(), expiresAtMs: now.getTime() + 90_000 });
  });
});
