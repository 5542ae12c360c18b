import { describe, expect, it } from '@jest/globals';
import { ago, fields, formatBytes, formatDuration, formatNumber, table } from './format.js';

describe('output formatting', () => {
  it('pads table columns to their widest cell', () => {
    expect(table(['ID', 'STATUS'], [['adder-1.0.0', 'Validated'], ['b', 'Uploaded']])).toBe(
      'ID           STATUS\nadder-1.0.0  Validated\nb            Uploaded',
    );
  });

  it('aligns fields and leaves out undefined ones', () => {
    expect(fields([['id', 'x'], ['description', undefined], ['framework', 'onnx']])).toBe('id:         x\nframework:  onnx');
  });

  it('formats bytes in decimal units, durations as m:ss or h:mm:ss, numbers without noise', () => {
    expect([formatBytes(999), formatBytes(1000), formatBytes(12_345_678), formatBytes(2e12), formatBytes(5e15)])
      .toEqual(['999 B', '1.00 kB', '12.3 MB', '2.00 TB', '5000.0 TB']);
    expect([formatDuration(0), formatDuration(61.4), formatDuration(3723)]).toEqual(['0:00', '1:01', '1:02:03']);
    expect([formatNumber(null), formatNumber(3), formatNumber(0.123456, 3), formatNumber(1.5)]).toEqual(['-', '3', '0.123', '1.5']);
  });

  it('says how long ago a timestamp was', () => {
    const now = Date.parse('2026-01-02T00:00:00Z');
    expect([
      ago(null, now), ago('2026-01-01T23:59:30Z', now), ago('2026-01-01T23:55:00Z', now),
      ago('2026-01-01T21:00:00Z', now), ago('2025-12-30T00:00:00Z', now), ago('not a date', now),
    ]).toEqual(['never', '30s ago', '5m ago', '3h ago', '3d ago', 'not a date']);
  });
});
