import { describe, expect, it } from '@jest/globals';
import type { ModelView } from '@hotswap/contracts';
import { formatDuration, retentionOptionsFromEnv } from './retention-config.js';
import { planRetention } from './retention-plan.js';

const NOW = new Date('2026-03-01T00:00:00.000Z');
const DAY = 86_400_000;
const version = (name: string, v: string, daysAgo: number, status: ModelView['status'] = 'Uploaded') => ({
  id: `${name}-${v}`, name, version: v, status, uploadedAt: new Date(NOW.getTime() - daysAgo * DAY).toISOString(),
}) as ModelView;

const ids = (decisions: readonly { id: string }[]) => decisions.map((d) => d.id).sort();

describe('retention plan', () => {
  const history = [
    version('fraud', '1.0.0', 90), version('fraud', '1.10.0', 60, 'Validated'), version('fraud', '1.2.0', 80, 'Rejected'),
    version('fraud', '2.0.0', 40, 'Validating'), version('fraud', '2.1.0', 5), version('fraud', '2.2.0', 1),
    version('lens', '0.1.0', 100, 'Deprecated'),
  ];

  it('keeps the newest N versions of each name by semver, not by upload order', () => {
    const plan = planRetention(history, { keepLatest: 2 }, NOW);
    expect(ids(plan.candidates)).toEqual(['fraud-1.0.0', 'fraud-1.2.0']);
    expect(plan.kept.find((d) => d.id === 'fraud-2.2.0')?.reason).toBe('among the newest 2 versions of fraud');
    expect(plan.kept.find((d) => d.id === 'lens-0.1.0')?.reason).toBe('among the newest 2 versions of lens');
    expect(plan.candidates.find((d) => d.id === 'fraud-1.0.0')?.reason).toBe('not among the newest 2 versions of fraud');
  });

  it('never selects the newest Validated version of a name, nor one being validated', () => {
    const plan = planRetention(history, { keepLatest: 1 }, NOW);
    expect(plan.kept.find((d) => d.id === 'fraud-1.10.0')?.reason).toBe('the newest Validated version of fraud');
    expect(plan.kept.find((d) => d.id === 'fraud-2.0.0')?.reason).toBe('being validated');
    expect(ids(plan.candidates)).toEqual(['fraud-1.0.0', 'fraud-1.2.0', 'fraud-2.1.0']);
  });

  it('keeps versions younger than the maximum age', () => {
    const plan = planRetention(history, { maxAgeMs: 70 * DAY }, NOW);
    expect(ids(plan.candidates)).toEqual(['fraud-1.0.0', 'fraud-1.2.0', 'lens-0.1.0']);
    expect(plan.kept.find((d) => d.id === 'fraud-2.1.0')?.reason).toBe(`uploaded ${history[4]!.uploadedAt}, less than P70D ago`);
    expect(plan.candidates.find((d) => d.id === 'lens-0.1.0')?.reason).toBe(`uploaded ${history[6]!.uploadedAt}, more than P70D ago`);
  });

  it('with both rules, deletes only what neither keeps and says both reasons', () => {
    const plan = planRetention(history, { keepLatest: 3, maxAgeMs: 85 * DAY }, NOW);
    expect(ids(plan.candidates)).toEqual(['fraud-1.0.0']);
    expect(plan.candidates[0]!.reason).toBe(`not among the newest 3 versions of fraud; uploaded ${history[0]!.uploadedAt}, more than P85D ago`);
  });

  it('selects nothing when no rule is set', () => {
    const plan = planRetention(history, {}, NOW);
    expect(plan.candidates).toEqual([]);
    expect(new Set(plan.kept.map((d) => d.reason))).toEqual(new Set(['no retention rule is set']));
  });
});

describe('retention configuration', () => {
  it('is off by default, hourly once a rule is set', () => {
    expect(retentionOptionsFromEnv({})).toEqual({ policy: {}, intervalMs: 3_600_000 });
    expect(retentionOptionsFromEnv({ HOTSWAP_RETENTION_KEEP_LATEST: '5', HOTSWAP_RETENTION_MAX_AGE: 'P30D', HOTSWAP_RETENTION_INTERVAL: 'PT10M' }))
      .toEqual({ policy: { keepLatest: 5, maxAgeMs: 30 * DAY }, intervalMs: 600_000 });
  });

  it('refuses bad values naming the variable', () => {
    expect(() => retentionOptionsFromEnv({ HOTSWAP_RETENTION_KEEP_LATEST: '0' })).toThrow('HOTSWAP_RETENTION_KEEP_LATEST: must be at least 1');
    expect(() => retentionOptionsFromEnv({ HOTSWAP_RETENTION_MAX_AGE: '30d' })).toThrow('HOTSWAP_RETENTION_MAX_AGE: value is not an ISO 8601 duration');
    expect(() => retentionOptionsFromEnv({ HOTSWAP_RETENTION_INTERVAL: 'PT0.1S' })).toThrow('HOTSWAP_RETENTION_INTERVAL must be at least PT1S');
  });

  it('writes ages as an operator would', () => {
    expect([formatDuration(30 * DAY), formatDuration(3_600_000), formatDuration(120_000), formatDuration(1_500)]).toEqual(['P30D', 'PT1H', 'PT2M', 'PT1.5S']);
  });
});
