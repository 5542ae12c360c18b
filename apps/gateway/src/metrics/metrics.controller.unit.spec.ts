import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { NotFoundException } from '@nestjs/common';
import { startMetrics } from '@hotswap/infrastructure';
import type { GatewayDeps } from '../gateway-deps.js';
import { MetricsController } from './metrics.controller.js';

describe('GET /metrics', () => {
  it("answers the Prometheus text of the gateway's handle", async () => {
    const metrics = startMetrics({ serviceName: 'gateway', processMetrics: false });
    try {
      metrics.counters.distributionsCreated.add(1);
      const text = await new MetricsController({ metrics } as unknown as GatewayDeps).metrics();
      expect(text).toMatch(/^distributions_created_total 1$/m);
    } finally {
      await metrics.shutdown();
    }
  });

  it('answers 404 when the gateway was started without metrics', async () => {
    await expect(new MetricsController({} as GatewayDeps).metrics()).rejects.toBeInstanceOf(NotFoundException);
  });
});
