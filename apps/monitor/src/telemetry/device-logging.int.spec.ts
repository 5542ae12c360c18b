import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeviceSubjects, type DeviceLogLine } from '@hotswap/contracts';
import { MessageBus, type RuntimeLogger, type ServiceRuntime } from '@hotswap/infrastructure';
import { startNatsServer, type LogEntry, type NatsServer } from '@hotswap/infrastructure/testing';
import { DeviceLogging } from './device-logging.js';

// Only the bus and the logger are used: a plain nats-server is enough (no JetStream, no read models).
let nats: NatsServer;
let monitor: NatsConnection;
let logging: DeviceLogging;
let device: NatsConnection;
const t = { logs: [] as LogEntry[] };
const logger: RuntimeLogger = {
  info: (message, fields) => t.logs.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
  warn: (message, fields) => t.logs.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
  error: (message, fields) => t.logs.push({ level: 'error', message, ...(fields ? { fields } : {}) }),
};

async function logged(accept: (entry: LogEntry) => boolean, timeoutMs = 5_000): Promise<LogEntry> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const entry = t.logs.find(accept);
    if (entry) return entry;
    if (Date.now() > deadline) throw new Error(`not logged; logs: ${JSON.stringify(t.logs)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false });
  monitor = await connect({ servers: nats.url });
  logging = new DeviceLogging({ bus: new MessageBus(monitor, { logger }), logger } as unknown as ServiceRuntime);
  await logging.onModuleInit();
  device = await connect({ servers: nats.url });
}, 30_000);

afterAll(async () => {
  await device?.close();
  await logging?.onModuleDestroy();
  await monitor?.close();
  await nats?.stop();
});

describe('central logging of device lines', () => {
  it("writes a device's warnings and errors to the monitor's log at their level, with device_id", async () => {
    const send = (line: DeviceLogLine) => device.publish(DeviceSubjects.log(line.deviceId), JSON.stringify(line));
    send({ deviceId: 'cam-7', level: 'warn', message: 'download attempt failed; retrying', fields: { attempt: 2 }, at: '2026-01-01T00:00:00.000Z' });
    send({ deviceId: 'cam-7', level: 'error', message: 'swap crashed', fields: { commandId: 'cmd-1' }, at: '2026-01-01T00:00:00.000Z' });

    expect(await logged((e) => e.message === 'download attempt failed; retrying')).toEqual({
      level: 'warn', message: 'download attempt failed; retrying',
      fields: { attempt: 2, device_id: 'cam-7', device_time: '2026-01-01T00:00:00.000Z' },
    });
    expect(await logged((e) => e.message === 'swap crashed')).toMatchObject({ level: 'error', fields: { device_id: 'cam-7', commandId: 'cmd-1' } });
  });

  it('says how many lines the device dropped', async () => {
    const line: DeviceLogLine = { deviceId: 'cam-8', level: 'warn', message: 'flooding', dropped: 12, at: '2026-01-01T00:00:00.000Z' };
    device.publish(DeviceSubjects.log('cam-8'), JSON.stringify(line));
    expect((await logged((e) => e.message === 'flooding')).fields).toMatchObject({ device_id: 'cam-8', dropped_lines: 12 });
  });

  it('refuses a line that speaks for another device, and one that is not a log line', async () => {
    const line: DeviceLogLine = { deviceId: 'cam-1', level: 'error', message: 'forged', at: '2026-01-01T00:00:00.000Z' };
    device.publish(DeviceSubjects.log('cam-2'), JSON.stringify(line));
    device.publish(DeviceSubjects.log('cam-3'), JSON.stringify({ deviceId: 'cam-3', level: 'info', message: 'x', at: 'now' }));

    expect((await logged((e) => e.message === 'refused device message')).fields).toMatchObject({ subject: DeviceSubjects.log('cam-2') });
    await logged((e) => e.level === 'warn' && JSON.stringify(e.fields ?? {}).includes(DeviceSubjects.log('cam-3')));
    expect(t.logs.some((e) => e.message === 'forged' || e.message === 'x')).toBe(false);
  });
});
