export type { MannWhitneyResult, Proportion, TestResult } from './statistics.js';
export { erf, erfc, mannWhitneyU, normalCdf, normalSf, twoProportionZTest } from './statistics.js';
export type { LatencyHistogramFigures, MergedTelemetry, Percentile, WindowFigures } from './telemetry.js';
export {
  accuracyOf, EMPTY_TELEMETRY, errorRateOf, histogramQuantile, latencyPercentile, latencyPercentiles, mergeWindows, PERCENTILES,
} from './telemetry.js';
export type { BaselineSource, Comparison, DegradationFinding, DegradationRules } from './degradation.js';
export { DEFAULT_DEGRADATION_RULES, describeBaseline, detectDegradation } from './degradation.js';
export type {
  ComparisonHorizon, GroupFigures, MonitoredDistribution, MonitoredTarget, ObservedWindow, SeriesPoint, WindowRole,
} from './comparisons.js';
export { compareGroups, figuresByGroup, roleOf, timeSeries } from './comparisons.js';
export type { AbTestCriteria } from './ab-test.js';
export { decideAbTest } from './ab-test.js';
