import { describe, expect, it } from '@jest/globals';
import type { DeviceLogLine } from '@hotswap/contracts';
import type { AgentLogger } from '../agent/logger.js';
import { forwardingLogger } from './device-logging.js';

function setup(limit = { lines: 2, windowMs: 1_000 }) {
  const local: Array<[string, string]> = [];
  const sent: DeviceLogLine[] = [];
  let now = Date.parse('2026-01-01T00:00:00.000Z');
  const inner: AgentLogger = {
    debug: (m) => local.push(['debug', m]), info: (m) => local.push(['info', m]),
    warn: (m) => local.push(['warn', m]), error: (m) => local.push(['error', m]),
  };
  const logger = forwardingLogger(inner, 'dev-1', (line) => sent.push(line), () => new Date(now), limit);
  return { logger, local, sent, advance: (ms: number) => { now += ms; } };
}

describe('device log forwarding', () => {
  it('logs every line locally and forwards only warnings and errors, with the device id', () => {
    const { logger, local, sent } = setup();

    logger.debug('d');
    logger.info('i');
    logger.warn('download attempt failed; retrying', { attempt: 1, skipped: undefined });
    logger.error('swap crashed');

    expect(local.map(([level]) => level)).toEqual(['debug', 'info', 'warn', 'error']);
    expect(sent).toEqual([
      { deviceId: 'dev-1', level: 'warn', message: 'download attempt failed; retrying', fields: { attempt: 1 }, at: '2026-01-01T00:00:00.000Z' },
      { deviceId: 'dev-1', level: 'error', message: 'swap crashed', at: '2026-01-01T00:00:00.000Z' },
    ]);
  });

  it('forwards at most the limit per window and says how many lines it dropped', () => {
    const { logger, sent, advance } = setup();

    for (let i = 0; i < 5; i++) logger.warn(`w${i}`);
    advance(1_000);
    logger.error('after the window');

    expect(sent.map((l) => l.message)).toEqual(['w0', 'w1', 'after the window']);
    expect(sent[2]!.dropped).toBe(3);
    expect(sent[0]).not.toHaveProperty('dropped');
  });

  it('bounds what it sends: long messages are cut, big or circular fields are replaced by a note', () => {
    const { logger, sent } = setup({ lines: 10, windowMs: 1_000 });
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;

    logger.warn('x'.repeat(5_000), { blob: 'y'.repeat(10_000) });
    logger.warn('circular', circular);

    expect(sent[0]!.message).toHaveLength(2_000);
    expect(sent[0]!.fields).toEqual({ note: expect.stringContaining('fields truncated') });
    expect(sent[1]!.fields).toEqual({ note: 'fields not serializable' });
  });
});
