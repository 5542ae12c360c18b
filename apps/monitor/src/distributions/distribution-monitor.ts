import { Inject, Injectable } from '@nestjs/common';
import type { AbTestResultView, DistributionMetricsView, GroupMetricsView, TargetHealthQuery, TargetHealthView } from '@hotswap/contracts';
import {
  accuracyOf, compareGroups, decideAbTest, detectDegradation, errorRateOf, figuresByGroup, IllegalStateError, latencyPercentile,
  latencyPercentiles, mergeWindows, NotFoundError, timeSeries, type Comparison, type DegradationFinding, type MergedTelemetry,
} from '@hotswap/domain';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { TelemetryWindowsStore } from '../device-metrics/telemetry-windows.store.js';
import { MONITOR_OPTIONS, type MonitorOptions } from '../monitor.options.js';
import { MonitoredDistributionsReadModel, type MonitoredDistributionRecord } from './monitored-distributions.read-model.js';

/**
 * The monitor's view of a distribution: its targets' telemetry per group and model, the
 * comparison of each group with its baseline, the degradation rules and the A/B test.
 */
@Injectable()
export class DistributionMonitor {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(MONITOR_OPTIONS) private readonly options: MonitorOptions,
    private readonly distributions: MonitoredDistributionsReadModel,
    private readonly windows: TelemetryWindowsStore,
  ) {}

  /** The first broken rule of a distribution, if any (its own `maxErrorRate` criterion replaces the default). */
  async degradationOf(id: string): Promise<DegradationFinding | undefined> {
    const { distribution, comparisons } = await this.compare(await this.require(id));
    const rules = { ...this.options, maxErrorRate: distribution.successCriteria.maxErrorRate ?? this.options.maxErrorRate };
    for (const comparison of comparisons) {
      const finding = detectDegradation(comparison, rules);
      if (finding) return finding;
    }
    return undefined;
  }

  async metrics(id: string): Promise<DistributionMetricsView> {
    const record = await this.require(id);
    const { comparisons, windows } = await this.compare(record);
    const sinceStart = windows.filter((w) => w.windowEndMs > record.startedAtMs);
    return {
      distributionId: id,
      groups: figuresByGroup(record, sinceStart).map((g) => groupView(g.group, g.modelId, g.devices, g.figures, g.toMs - g.fromMs)),
      baseline: comparisons.map((c) => baselineView(c)),
      series: timeSeries(record, sinceStart, this.options.seriesIntervalMs).map((p) => ({
        at: new Date(p.atMs).toISOString(), group: p.group, modelId: p.modelId, samples: p.figures.samples,
        errorRate: errorRateOf(p.figures), latencyP99Ms: latencyPercentile(p.figures, 'p99'), accuracy: accuracyOf(p.figures),
      })),
      ...(record.degradation ? { degradation: record.degradation } : {}),
    };
  }

  async abTestResult(id: string): Promise<AbTestResultView> {
    const record = await this.require(id);
    if (!record.abTest) throw new IllegalStateError(`distribution ${id} is a ${record.strategy} rollout, not an A/B test`);
    const { modelA, modelB } = record.abTest;
    const windows = await this.windows.windowsOf(record.targets.map((t) => t.deviceId), record.startedAtMs);
    const inGroup = (group: string, modelId: string) => {
      const devices = new Map(record.targets.filter((t) => t.group === group).map((t) => [t.deviceId, t]));
      return mergeWindows(windows.filter((w) => {
        const target = devices.get(w.deviceId);
        return target !== undefined && w.modelId === modelId && w.windowEndMs > (target.swappedAtMs ?? record.startedAtMs);
      }));
    };
    return decideAbTest(record.abTest, inGroup('A', modelA), inGroup('B', modelB));
  }

  /** Each device's figures on a model over the windows that started at or after `since`. */
  async targetHealth(query: TargetHealthQuery): Promise<TargetHealthView> {
    const earliest = Math.min(...query.targets.map((t) => Date.parse(t.since)));
    const windows = await this.windows.windowsOf([...new Set(query.targets.map((t) => t.deviceId))], earliest);
    return {
      items: query.targets.map(({ deviceId, modelId, since }) => {
        const sinceMs = Date.parse(since);
        const figures = mergeWindows(windows.filter((w) => w.deviceId === deviceId && w.modelId === modelId && w.windowStartMs >= sinceMs));
        return {
          deviceId, samples: figures.samples, errors: figures.errors, latencyP99Ms: latencyPercentile(figures, 'p99'),
          accuracy: accuracyOf(figures), labelled: figures.labelled,
        };
      }),
    };
  }

  private async require(id: string): Promise<MonitoredDistributionRecord> {
    const record = await this.distributions.get(id);
    if (!record) throw new NotFoundError(`distribution ${id} not found`);
    return record;
  }

  private async compare(distribution: MonitoredDistributionRecord) {
    const nowMs = this.runtime.clock().getTime();
    const { detectionWindowMs, baselineWindowMs, minSamples } = this.options;
    const swaps = distribution.targets.flatMap((t) => (t.swappedAtMs === undefined ? [] : [t.swappedAtMs]));
    const since = Math.min(distribution.startedAtMs, nowMs - detectionWindowMs, ...swaps.map((s) => s - baselineWindowMs));
    const windows = await this.windows.windowsOf(distribution.targets.map((t) => t.deviceId), since);
    const comparisons: Comparison[] = compareGroups(distribution, windows, { nowMs, detectionWindowMs, baselineWindowMs, minSamples });
    return { distribution, comparisons, windows };
  }
}

function groupView(group: string, modelId: string, devices: number, m: MergedTelemetry, spanMs: number): GroupMetricsView {
  return {
    group, modelId, devices, samples: m.samples, errorRate: errorRateOf(m), latencyMs: latencyPercentiles(m), accuracy: accuracyOf(m),
    throughputPerSec: spanMs > 0 ? Math.round((m.samples / (spanMs / 1000)) * 100) / 100 : 0,
  };
}

/** The baseline a group is compared with, named after its source (`control`, `A`, `canary (before swap)`). */
function baselineView(c: Comparison): GroupMetricsView {
  const source = c.baselineSource;
  const group = source.kind === 'control' ? 'control' : source.kind === 'group' ? source.group : `${c.group} (before swap)`;
  return groupView(group, (c.baselineModelIds ?? []).join(','), c.baselineDevices ?? 0, c.baseline, 0);
}
