import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { IsString } from 'class-validator';
import {
  BAD_REQUEST,
  InvalidReplyError,
  MessageBus,
  MessagingError,
  NoRespondersError,
  parseTraceparent,
  RemoteError,
  RequestTimeoutError,
  UNAVAILABLE,
  validateWith,
  type BusSubscription,
  type MessageContext,
  type MessagingLogger,
  type Validator,
} from './index.js';

const NATS_URL = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
const TIMEOUT_MS = 5_000;

interface Greet {
  readonly name: string;
}

const isGreet: Validator<Greet> = (payload) =>
  typeof payload === 'object' && payload !== null && typeof (payload as { name?: unknown }).name === 'string'
    ? { ok: true, value: payload as Greet }
    : { ok: false, reason: 'name must be a string' };

class GreetDto {
  @IsString()
  name!: string;
}

function capturingLogger() {
  const entries: { level: 'warn' | 'error'; message: string; fields?: Record<string, unknown> }[] = [];
  const logger: MessagingLogger = {
    warn: (message, fields) => entries.push({ level: 'warn', message, fields }),
    error: (message, fields) => entries.push({ level: 'error', message, fields }),
  };
  return { logger, entries };
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const uniqueSubject = (name: string) => `test.bus.${name}.${randomUUID()}`;

describe('MessageBus', () => {
  let serviceConnection: NatsConnection;
  let clientConnection: NatsConnection;
  let service: MessageBus;
  let client: MessageBus;
  let serviceLog: ReturnType<typeof capturingLogger>;
  const subscriptions: BusSubscription[] = [];

  beforeAll(async () => {
    serviceConnection = await connect({ servers: NATS_URL });
    clientConnection = await connect({ servers: NATS_URL });
  });

  beforeEach(() => {
    serviceLog = capturingLogger();
    service = new MessageBus(serviceConnection, { logger: serviceLog.logger });
    client = new MessageBus(clientConnection, { logger: capturingLogger().logger });
  });

  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((s) => s.close()));
  });

  afterAll(async () => {
    await serviceConnection.close();
    await clientConnection.close();
  });

  async function serveGreet(subject: string) {
    const seen: MessageContext[] = [];
    subscriptions.push(
      await service.handle(subject, {
        validate: isGreet,
        handler: (value, ctx) => {
          seen.push(ctx);
          return `hello ${value.name}`;
        },
      }),
    );
    return seen;
  }

  it('request/reply - returns the handler result and carries the active traceparent', async () => {
    const subject = uniqueSubject('roundtrip');
    const seen = await serveGreet(subject);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const traced = new MessageBus(clientConnection, { traceContext: { activeTraceparent: () => traceparent } });

    const reply = await traced.request<Greet, string>(subject, { name: 'ada' }, { timeoutMs: TIMEOUT_MS });

    expect(reply).toBe('hello ada');
    expect(seen[0]?.subject).toBe(subject);
    expect(seen[0]?.traceparent).toBe(traceparent);
    expect(seen[0]?.headers['traceparent']).toBe(traceparent);
  });

  it('request/reply - starts a fresh valid trace when none is active, or the active one is invalid', async () => {
    const subject = uniqueSubject('fresh-trace');
    const seen = await serveGreet(subject);
    const broken = new MessageBus(clientConnection, { traceContext: { activeTraceparent: () => 'garbage' } });

    await client.request(subject, { name: 'a' }, { timeoutMs: TIMEOUT_MS });
    await broken.request(subject, { name: 'b' }, { timeoutMs: TIMEOUT_MS });

    for (const ctx of seen) expect(parseTraceparent(ctx.traceparent)).toBeDefined();
    expect(seen[0]?.traceparent).not.toBe(seen[1]?.traceparent);
  });

  it('request/reply - passes extra headers but never lets them replace the traceparent', async () => {
    const subject = uniqueSubject('headers');
    const seen = await serveGreet(subject);
    await client.request(subject, { name: 'a' }, { timeoutMs: TIMEOUT_MS, headers: { 'x-actor': 'cli', traceparent: 'forged' } });
    expect(seen[0]?.headers['x-actor']).toBe('cli');
    expect(parseTraceparent(seen[0]?.traceparent)).toBeDefined();
  });

  it('device plane - answers and reads bare JSON, without the { ok, result } envelope', async () => {
    const subject = uniqueSubject('bare');
    subscriptions.push(await service.handle(subject, {
      validate: isGreet, envelope: false,
      handler: (value) => {
        if (value.name === 'nobody') throw Object.assign(new Error('nobody is not known'), { code: 'NOT_FOUND' });
        return { greeting: `hello ${value.name}` };
      },
    }));

    const raw = await clientConnection.request(subject, JSON.stringify({ name: 'ada' }), { timeout: TIMEOUT_MS });
    expect(raw.json()).toEqual({ greeting: 'hello ada' });
    const bad = await clientConnection.request(subject, JSON.stringify({ name: 7 }), { timeout: TIMEOUT_MS });
    expect(bad.json()).toEqual({ error: { code: BAD_REQUEST, message: 'name must be a string' } });
    const failed = await clientConnection.request(subject, JSON.stringify({ name: 'nobody' }), { timeout: TIMEOUT_MS });
    expect(failed.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'nobody is not known' } });
    const read = await client.request<Greet, unknown>(subject, { name: 'bob' }, { timeoutMs: TIMEOUT_MS, envelope: false });
    expect(read).toEqual({ greeting: 'hello bob' });
  });

  it('answers malformed JSON with BAD_REQUEST, logs it and keeps serving', async () => {
    const subject = uniqueSubject('malformed');
    await serveGreet(subject);

    const raw = await clientConnection.request(subject, '{"name": ', { timeout: TIMEOUT_MS });
    const reply = raw.json<{ ok: boolean; error: { code: string; message: string } }>();

    expect(reply).toEqual({ ok: false, error: { code: BAD_REQUEST, message: expect.stringMatching(/^malformed JSON: /) } });
    expect(serviceLog.entries).toEqual([
      expect.objectContaining({ level: 'warn', message: 'refused message', fields: expect.objectContaining({ subject }) }),
    ]);
    await expect(client.request(subject, { name: 'after' }, { timeoutMs: TIMEOUT_MS })).resolves.toBe('hello after');
  });

  it('answers an invalid payload with BAD_REQUEST and the reason, and keeps serving', async () => {
    const subject = uniqueSubject('invalid');
    const seen = await serveGreet(subject);

    const error = await client.request(subject, { name: 42 }, { timeoutMs: TIMEOUT_MS }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ subject, code: BAD_REQUEST, message: 'name must be a string' });
    expect(seen).toHaveLength(0);
    expect(serviceLog.entries[0]?.fields).toMatchObject({ reason: 'name must be a string' });
    await expect(client.request(subject, { name: 'after' }, { timeoutMs: TIMEOUT_MS })).resolves.toBe('hello after');
  });

  it('validates with a class-validator DTO, refusing unknown properties', async () => {
    const subject = uniqueSubject('dto');
    subscriptions.push(
      await service.handle(subject, { validate: validateWith(GreetDto), handler: (dto) => dto.name.toUpperCase() }),
    );
    await expect(client.request(subject, { name: 'ada' }, { timeoutMs: TIMEOUT_MS })).resolves.toBe('ADA');
    await expect(client.request(subject, { name: 'ada', role: 'admin' }, { timeoutMs: TIMEOUT_MS })).rejects.toMatchObject({
      code: BAD_REQUEST,
      message: 'role: property role should not exist [whitelistValidation]',
    });
  });

  it('passes a handler error code, message and details through to the caller', async () => {
    const subject = uniqueSubject('coded');
    subscriptions.push(
      await service.handle(subject, {
        validate: isGreet,
        handler: () => {
          throw Object.assign(new Error('model resnet@9.9.9 not found'), { code: 'NOT_FOUND', details: { modelId: 'resnet' } });
        },
      }),
    );

    const error = await client.request(subject, { name: 'x' }, { timeoutMs: TIMEOUT_MS }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', message: 'model resnet@9.9.9 not found', details: { modelId: 'resnet' } });
    // Domain outcomes are not failures of the service.
    expect(serviceLog.entries).toEqual([]);
  });

  it('turns an uncoded handler error into INTERNAL, logs it and keeps serving', async () => {
    const subject = uniqueSubject('internal');
    let calls = 0;
    subscriptions.push(
      await service.handle(subject, {
        validate: isGreet,
        handler: async (value) => {
          calls += 1;
          if (calls === 1) throw new Error('database unreachable');
          return `ok ${value.name}`;
        },
      }),
    );

    await expect(client.request(subject, { name: 'x' }, { timeoutMs: TIMEOUT_MS })).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'database unreachable',
    });
    expect(serviceLog.entries).toEqual([
      expect.objectContaining({ level: 'error', fields: expect.objectContaining({ subject, error: 'database unreachable' }) }),
    ]);
    await expect(client.request(subject, { name: 'y' }, { timeoutMs: TIMEOUT_MS })).resolves.toBe('ok y');
  });

  it('answers INTERNAL when the result cannot be encoded as JSON', async () => {
    const subject = uniqueSubject('unencodable');
    subscriptions.push(await service.handle(subject, { validate: isGreet, handler: () => ({ big: 1n }) }));
    await expect(client.request(subject, { name: 'x' }, { timeoutMs: TIMEOUT_MS })).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/^the reply could not be encoded: /),
    });
  });

  it('answers INTERNAL, and logs, when the validator itself throws', async () => {
    const subject = uniqueSubject('validator-throws');
    subscriptions.push(
      await service.handle(subject, {
        validate: () => {
          throw new Error('schema not loaded');
        },
        handler: () => 'never',
      }),
    );
    await expect(client.request(subject, {}, { timeoutMs: TIMEOUT_MS })).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'validation failed: schema not loaded',
    });
    expect(serviceLog.entries).toEqual([expect.objectContaining({ level: 'error', fields: expect.objectContaining({ subject }) })]);
  });

  it('logs a failed request that was published without a reply subject, once', async () => {
    const subject = uniqueSubject('no-reply');
    const logged: string[] = [];
    const twoEntries = deferred();
    const record = (message: string) => {
      logged.push(message);
      if (logged.length === 2) twoEntries.resolve();
    };
    const bus = new MessageBus(serviceConnection, { logger: { warn: record, error: record } });
    subscriptions.push(
      await bus.handle(subject, {
        validate: isGreet,
        handler: () => {
          throw new Error('boom');
        },
      }),
    );

    client.publish(subject, { name: 42 });
    client.publish(subject, { name: 'valid' });
    await twoEntries.promise;

    expect(logged.sort()).toEqual(['refused message', 'request without a reply subject failed']);
  });

  it('wraps other request failures in MessagingError with the cause', async () => {
    const closedConnection = await connect({ servers: NATS_URL });
    await closedConnection.close();
    const error = await new MessageBus(closedConnection).request('any.subject', {}, { timeoutMs: TIMEOUT_MS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MessagingError);
    expect((error as Error).message).toMatch(/^request to any\.subject failed: /);
    expect((error as Error).cause).toBeDefined();
  });

  it('handles messages concurrently: a slow handler does not hold up the next message', async () => {
    const subject = uniqueSubject('concurrent');
    const gate = deferred();
    subscriptions.push(
      await service.handle(subject, {
        validate: isGreet,
        handler: async (value) => {
          if (value.name === 'slow') await gate.promise;
          return value.name;
        },
      }),
    );

    const slow = client.request(subject, { name: 'slow' }, { timeoutMs: TIMEOUT_MS });
    await expect(client.request(subject, { name: 'fast' }, { timeoutMs: TIMEOUT_MS })).resolves.toBe('fast');
    gate.resolve();
    await expect(slow).resolves.toBe('slow');
  });

  it('throws RequestTimeoutError naming the subject and the timeout when no reply comes', async () => {
    const subject = uniqueSubject('timeout');
    const gate = deferred();
    subscriptions.push(await service.handle(subject, { validate: isGreet, handler: () => gate.promise }));

    const error = await client.request(subject, { name: 'x' }, { timeoutMs: 200 }).catch((e: unknown) => e);
    gate.resolve();

    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect((error as Error).message).toBe(`request to ${subject} timed out after 200 ms`);
    expect((error as Error).cause).toBeDefined();
  });

  it('throws NoRespondersError when nobody serves the subject', async () => {
    const subject = uniqueSubject('nobody');
    const error = await client.request(subject, {}, { timeoutMs: TIMEOUT_MS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoRespondersError);
    expect((error as Error).message).toBe(`no responders for ${subject}`);
  });

  it('refuses a timeout below 1 ms', async () => {
    await expect(client.request('x', {}, { timeoutMs: 0 })).rejects.toThrow('timeoutMs must be at least 1, got 0');
  });

  it('throws InvalidReplyError for a reply that is not JSON or not an envelope', async () => {
    const notJson = uniqueSubject('not-json');
    const notEnvelope = uniqueSubject('not-envelope');
    const raw = [
      serviceConnection.subscribe(notJson, { callback: (_e, m) => void m.respond('<html>') }),
      serviceConnection.subscribe(notEnvelope, { callback: (_e, m) => void m.respond('{"hello":1}') }),
    ];
    await serviceConnection.flush();
    try {
      await expect(client.request(notJson, {}, { timeoutMs: TIMEOUT_MS })).rejects.toThrow(InvalidReplyError);
      await expect(client.request(notEnvelope, {}, { timeoutMs: TIMEOUT_MS })).rejects.toThrow(
        `invalid reply from ${notEnvelope}: expected { ok: true, result } or { ok: false, error: { code, message } }`,
      );
    } finally {
      raw.forEach((s) => s.unsubscribe());
    }
  });

  it('validates the reply result when asked to', async () => {
    const subject = uniqueSubject('reply-validation');
    subscriptions.push(await service.handle(subject, { validate: isGreet, handler: () => ({ name: 7 }) }));
    await expect(client.request(subject, { name: 'x' }, { timeoutMs: TIMEOUT_MS, validate: isGreet })).rejects.toThrow(
      `invalid reply from ${subject}: name must be a string`,
    );
    subscriptions.push(await service.handle(`${subject}.ok`, { validate: isGreet, handler: () => ({ name: 'ok' }) }));
    await expect(client.request(`${subject}.ok`, { name: 'x' }, { timeoutMs: TIMEOUT_MS, validate: isGreet })).resolves.toEqual({
      name: 'ok',
    });
  });

  it('shares the load of a queue group between its members, each request answered once', async () => {
    const subject = uniqueSubject('queue');
    const otherConnection = await connect({ servers: NATS_URL });
    try {
      const counts = { a: 0, b: 0 };
      const member = (bus: MessageBus, name: 'a' | 'b') =>
        bus.handle(subject, {
          queue: 'greeters',
          validate: isGreet,
          handler: () => {
            counts[name] += 1;
            return name;
          },
        });
      subscriptions.push(await member(service, 'a'), await member(new MessageBus(otherConnection), 'b'));

      const replies = await Promise.all(
        Array.from({ length: 40 }, (_, i) => client.request<Greet, string>(subject, { name: `n${i}` }, { timeoutMs: TIMEOUT_MS })),
      );

      expect(counts.a + counts.b).toBe(40);
      expect(counts.a).toBeGreaterThan(0);
      expect(counts.b).toBeGreaterThan(0);
      expect(replies.filter((r) => r === 'a')).toHaveLength(counts.a);
    } finally {
      await Promise.all(subscriptions.splice(0).map((s) => s.close()));
      await otherConnection.close();
    }
  });

  it('close waits for the handlers already running', async () => {
    const subject = uniqueSubject('close');
    const gate = deferred();
    const started = deferred();
    let finished = false;
    const sub = await service.handle(subject, {
      validate: isGreet,
      handler: async () => {
        started.resolve();
        await gate.promise;
        finished = true;
        return 'done';
      },
    });
    const reply = client.request(subject, { name: 'x' }, { timeoutMs: TIMEOUT_MS });
    await started.promise;

    const closed = sub.close();
    setImmediate(() => gate.resolve());
    await closed;

    expect(finished).toBe(true);
    await expect(reply).resolves.toBe('done');
    await expect(sub.close()).resolves.toBeUndefined();
  });

  describe('concurrency limit', () => {
    /** A handler that holds every message until released, counting how many it holds at once. */
    function gatedHandler() {
      const gate = deferred();
      const order: string[] = [];
      let running = 0;
      let peak = 0;
      const handler = async (value: Greet) => {
        running++;
        peak = Math.max(peak, running);
        order.push(value.name);
        await gate.promise;
        running--;
        return value.name;
      };
      return { gate, order, handler, peak: () => peak };
    }

    it('runs at most maxConcurrent handlers at once; the rest wait and run in arrival order', async () => {
      const subject = uniqueSubject('limit');
      const h = gatedHandler();
      subscriptions.push(await service.handle(subject, { validate: isGreet, handler: h.handler, limit: { maxConcurrent: 2, maxQueued: 10 } }));
      const names = ['a', 'b', 'c', 'd', 'e'];
      const replies = names.map((name) => client.request(subject, { name }, { timeoutMs: TIMEOUT_MS }));
      await clientConnection.flush();
      await serviceConnection.flush();
      expect(h.order).toEqual(['a', 'b']);
      h.gate.resolve();
      await expect(Promise.all(replies)).resolves.toEqual(names);
      expect(h.order).toEqual(names);
      expect(h.peak()).toBe(2);
    });

    it('answers UNAVAILABLE, naming the subject, once maxQueued requests are waiting', async () => {
      const subject = uniqueSubject('shed');
      const h = gatedHandler();
      subscriptions.push(await service.handle(subject, { validate: isGreet, handler: h.handler, limit: { maxConcurrent: 1, maxQueued: 1 } }));
      const running = client.request(subject, { name: 'running' }, { timeoutMs: TIMEOUT_MS });
      const waiting = client.request(subject, { name: 'waiting' }, { timeoutMs: TIMEOUT_MS });
      const refused = await client.request(subject, { name: 'refused' }, { timeoutMs: TIMEOUT_MS }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RemoteError);
      expect(refused).toMatchObject({ code: UNAVAILABLE, message: expect.stringContaining(`${subject} is busy: 1 messages are waiting`) });
      h.gate.resolve();
      await expect(Promise.all([running, waiting])).resolves.toEqual(['running', 'waiting']);
      expect(h.order).toEqual(['running', 'waiting']);
    });

    it('drops fire-and-forget messages beyond maxQueued, logging the first drop, and handles the rest', async () => {
      const subject = uniqueSubject('drop');
      const h = gatedHandler();
      subscriptions.push(await service.subscribe(subject, { validate: isGreet, handler: async (v) => void (await h.handler(v)), limit: { maxConcurrent: 1, maxQueued: 2 } }));
      for (const name of ['1', '2', '3', '4', '5']) clientConnection.publish(subject, JSON.stringify({ name }));
      await clientConnection.flush();
      await serviceConnection.flush();
      expect(serviceLog.entries).toEqual([{ level: 'warn', message: 'dropped messages: too many waiting', fields: { subject, waiting: 2, dropped: 1 } }]);
      h.gate.resolve();
      // close() waits for the waiting messages too, not only the running one.
      await subscriptions.pop()!.close();
      expect(h.order).toEqual(['1', '2', '3']);
    });

    it('refuses a limit that is not a positive integer, naming the subject', async () => {
      await expect(service.handle('test.bus.bad-limit', { validate: isGreet, handler: () => 'x', limit: { maxConcurrent: 0, maxQueued: 1 } }))
        .rejects.toThrow('test.bus.bad-limit: limit.maxConcurrent must be an integer >= 1, got 0');
      await expect(service.subscribe('test.bus.bad-limit', { validate: isGreet, handler: () => undefined, limit: { maxConcurrent: 1, maxQueued: -1 } }))
        .rejects.toThrow('test.bus.bad-limit: limit.maxQueued must be an integer >= 0, got -1');
    });
  });

  describe('publish/subscribe', () => {
    it('delivers valid messages with their traceparent, logs and skips invalid ones', async () => {
      const subject = uniqueSubject('heartbeat');
      const received: { value: Greet; ctx: MessageContext }[] = [];
      const second = deferred();
      subscriptions.push(
        await service.subscribe(subject, {
          validate: isGreet,
          handler: (value, ctx) => {
            received.push({ value, ctx });
            if (received.length === 2) second.resolve();
          },
        }),
      );
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const traced = new MessageBus(clientConnection, { traceContext: { activeTraceparent: () => traceparent } });

      traced.publish(subject, { name: 'first' });
      clientConnection.publish(subject, 'not json');
      client.publish(subject, { wrong: true });
      client.publish(subject, { name: 'second' });
      await second.promise;

      expect(received.map((r) => r.value.name)).toEqual(['first', 'second']);
      expect(received[0]?.ctx.traceparent).toBe(traceparent);
      expect(serviceLog.entries.map((e) => [e.level, e.fields?.['reason']])).toEqual([
        ['warn', expect.stringMatching(/^malformed JSON: /)],
        ['warn', 'name must be a string'],
      ]);
    });

    it('logs a throwing handler, with its code, and keeps the subscription running', async () => {
      const subject = uniqueSubject('telemetry');
      const delivered = deferred();
      subscriptions.push(
        await service.subscribe(subject, {
          validate: isGreet,
          handler: (value) => {
            if (value.name === 'boom') throw Object.assign(new Error('window rejected'), { code: 'CONFLICT' });
            delivered.resolve();
          },
        }),
      );

      client.publish(subject, { name: 'boom' });
      client.publish(subject, { name: 'fine' });
      await delivered.promise;

      expect(serviceLog.entries).toEqual([
        expect.objectContaining({ level: 'error', fields: expect.objectContaining({ code: 'CONFLICT', error: 'window rejected' }) }),
      ]);
    });

    it('hands an empty payload to the validator as undefined', async () => {
      const subject = uniqueSubject('empty');
      const got = deferred<unknown>();
      subscriptions.push(
        await service.subscribe(subject, {
          validate: (payload) => ({ ok: true, value: payload }),
          handler: (value) => got.resolve(value),
        }),
      );
      clientConnection.publish(subject);
      await expect(got.promise).resolves.toBeUndefined();
    });
  });
});
