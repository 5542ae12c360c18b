import { describe, expect, it } from '@jest/globals';
import { Queries } from '@hotswap/contracts';
import { startMetrics, type MessageBus } from '@hotswap/infrastructure';
import { observeFleetGauges } from './fleet-metrics.js';

/** A bus whose list queries answer a total per status; `down` makes one subject fail. */
function fakeBus(totals: Record<string, number>, down?: string): { bus: MessageBus; asked: Array<[string, unknown]> } {
  const asked: Array<[string, unknown]> = [];
  const bus = {
    request: async (subject: string, query: { status: string }) => {
      asked.push([subject, query]);
      if (subject === down) throw new Error(`no responders for ${subject}`);
      return { items: [], total: totals[`${subject}:${query.status}`] ?? 0 };
    },
  } as unknown as MessageBus;
  return { bus, asked };
}

describe("a lone gateway's fleet gauges", () => {
  it('counts online, offline and active from the services at each scrape', async () => {
    const metrics = startMetrics({ serviceName: 'gateway', processMetrics: false });
    const { bus, asked } = fakeBus({
      [`${Queries.listDevices}:Online`]: 5, [`${Queries.listDevices}:Updating`]: 2, [`${Queries.listDevices}:Degraded`]: 1,
      [`${Queries.listDevices}:Offline`]: 3,
      [`${Queries.listDistributions}:Running`]: 2, [`${Queries.listDistributions}:Succeeded`]: 40,
    });
    const stop = observeFleetGauges(bus, metrics);
    try {
      const text = await metrics.prometheusText();
      expect(text).toMatch(/^devices_online_count 8$/m);
      expect(text).toMatch(/^devices_offline_count 3$/m);
      expect(text).toMatch(/^distributions_active_count 2$/m);
      expect(asked.every(([, q]) => (q as { limit: number }).limit === 1)).toBe(true);
      expect(asked.some(([s, q]) => s === Queries.listDistributions && (q as { status: string }).status === 'Succeeded')).toBe(false);
    } finally {
      stop();
      await metrics.shutdown();
    }
  });

  it('leaves out the gauges of a service that does not answer, and serves the others', async () => {
    const warnings: string[] = [];
    const metrics = startMetrics({ serviceName: 'gateway', processMetrics: false, logger: { warn: (m) => warnings.push(m) } });
    const { bus } = fakeBus({ [`${Queries.listDevices}:Offline`]: 1 }, Queries.listDistributions);
    const stop = observeFleetGauges(bus, metrics);
    try {
      const text = await metrics.prometheusText();
      expect(text).toMatch(/^devices_offline_count 1$/m);
      expect(text).not.toMatch(/^distributions_active_count/m);
      expect(warnings).toContain('gauge callback failed');
    } finally {
      stop();
      await metrics.shutdown();
    }
  });
});
