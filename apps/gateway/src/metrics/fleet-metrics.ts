import {
  DISTRIBUTION_STATUSES, FINISHED_DISTRIBUTION_STATUSES, Queries,
  type DeviceStatus, type DistributionStatus, type ListDevicesQuery, type ListDistributionsQueryDto, type Page,
} from '@hotswap/contracts';
import { observeGauge, type MessageBus, type ServiceMetrics } from '@hotswap/infrastructure';

/** How long each count may take at a scrape; a slow service leaves its gauge out of that scrape. */
export const FLEET_QUERY_TIMEOUT_MS = 2_000;

type ListDistributionsQuery = Pick<ListDistributionsQueryDto, 'status' | 'limit'>;

const ONLINE: readonly DeviceStatus[] = ['Online', 'Updating', 'Degraded'];
const ACTIVE = DISTRIBUTION_STATUSES.filter((s) => !FINISHED_DISTRIBUTION_STATUSES.includes(s));

/**
 * For a gateway running alone (not embedded): feeds the fleet gauges of its `/metrics` by asking
 * the services' read models at each scrape (`list-devices`, `list-distributions`, counts only:
 * `limit: 1`), so the gateway's `/metrics` shows the fleet without scraping every service.
 * `models.active.count` and the counters stay on each service's own `METRICS_PORT`.
 * Returns the function that stops observing.
 */
export function observeFleetGauges(bus: MessageBus, metrics: ServiceMetrics): () => void {
  const devices = (status: DeviceStatus) => count<ListDevicesQuery>(bus, Queries.listDevices, { status, limit: 1 });
  const distributions = (status: DistributionStatus) => count<ListDistributionsQuery>(bus, Queries.listDistributions, { status, limit: 1 });
  const stops = [
    observeGauge(metrics, 'devicesOnline', async () => sum(await Promise.all(ONLINE.map(devices)))),
    observeGauge(metrics, 'devicesOffline', () => devices('Offline')),
    observeGauge(metrics, 'distributionsActive', async () => sum(await Promise.all(ACTIVE.map(distributions)))),
  ];
  return () => stops.forEach((stop) => stop());
}

async function count<Q>(bus: MessageBus, subject: string, query: Q): Promise<number> {
  return (await bus.request<Q, Page<unknown>>(subject, query, { timeoutMs: FLEET_QUERY_TIMEOUT_MS })).total;
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
