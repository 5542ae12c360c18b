import { afterEach, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger } from './logging.js';
import { startTracing, withSpan, type TracingHandle } from './tracing.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, destination };
}

describe('structured logging', () => {
  let tracing: TracingHandle | undefined;

  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  it('writes one JSON object per line with time, level name, service, message and fields', () => {
    const { lines, destination } = capture();
    const logger = createLogger('model-registry', { destination });

    logger.info('model uploaded', { modelId: 'adder-1.0.0' });
    logger.error('store down');

    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', service: 'model-registry', message: 'model uploaded', modelId: 'adder-1.0.0' });
    expect(new Date(String(lines[0]!['time'])).toISOString()).toBe(lines[0]!['time']);
    expect(lines[1]).toMatchObject({ level: 'error', message: 'store down' });
    expect(lines[0]).not.toHaveProperty('trace_id');
  });

  it('carries trace_id and span_id of the active span on every line', async () => {
    tracing = startTracing({ serviceName: 'unit', exporter: 'none' });
    const { lines, destination } = capture();
    const logger = createLogger('validator', { destination });

    const ids = await withSpan('model.validate', {}, (span) => {
      logger.warn('slow benchmark');
      return span.spanContext();
    });

    expect(lines[0]).toMatchObject({ level: 'warn', trace_id: ids.traceId, span_id: ids.spanId });
  });

  it('leaves out lines below its level, and adds its base fields', () => {
    const { lines, destination } = capture();
    const logger = createLogger('monitor', { destination, level: 'warn', base: { region: 'eu' } });

    logger.debug('noise');
    logger.info('noise');
    logger.warn('kept');

    expect(lines).toEqual([expect.objectContaining({ message: 'kept', region: 'eu', service: 'monitor' })]);
  });
});
