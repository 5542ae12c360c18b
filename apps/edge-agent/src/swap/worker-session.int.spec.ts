import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import { ELEMENT_TYPES, makeAddModel, makeIdentityModel, type ElementType } from '@hotswap/infrastructure/testing';
import { InputSignatureMismatchError, warmUp } from './model-loader.js';
import { SessionCache } from './session-cache.js';
import { zeroFeeds } from './tensors.js';
import { SessionWorkerError, SpareThread, WorkerSession } from './worker-session.js';

let dir: string;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const V1 = makeAddModel({ addend: 1 });
const V2 = makeAddModel({ addend: 2 });
const OTHER_INPUT = makeAddModel({ addend: 1, inputName: 'input' });

async function file(name: string, bytes: Buffer | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

const x = () => ({ x: { type: 'float32' as const, dims: [1, 4], data: Float32Array.from([0, 1, 2, 3]) } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'worker-session-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a session on its own thread', () => {
  it('serves runs over a port handed to another thread, and refuses anything but run on it', async () => {
    const session = await WorkerSession.open(await file('port.onnx', V2), { intraOpNumThreads: 1 });
    try {
      const port = await session.openPort();
      const reply = (request: object) => new Promise<Record<string, unknown>>((resolve) => {
        port.once('message', resolve);
        port.postMessage(request);
      });
      const answer = await reply({ id: 7, op: 'run', feeds: x() });
      expect(answer).toMatchObject({ id: 7, ok: true });
      expect(Array.from((answer['value'] as { y: { data: Float32Array } }).y.data)).toEqual([2, 3, 4, 5]);
      expect(await reply({ id: 8, op: 'release' })).toEqual({ id: 8, ok: false, error: { name: 'Error', message: 'only run on a port, got release' } });
      // The session still serves its owner: the port could not release it.
      expect(Array.from((await session.run(x())).y.data as Float32Array)).toEqual([2, 3, 4, 5]);
      port.close();
    } finally {
      await session.release();
    }
  });

  it('loads a model, describes its inputs and outputs, and runs inferences off the main thread', async () => {
    const session = await WorkerSession.open(await file('v1.onnx', V1), { intraOpNumThreads: 1 });
    try {
      expect(session.inputs).toEqual([{ name: 'x', isTensor: true, type: 'float32', shape: [1, 4] }]);
      expect(session.outputNames).toEqual(['y']);
      const feeds = x();
      const out = await session.run(feeds);
      expect(out.y).toMatchObject({ type: 'float32', dims: [1, 4] });
      expect(Array.from(out.y.data as Float32Array)).toEqual([1, 2, 3, 4]);
      // Copied by default: the caller's input is intact.
      expect(Array.from(feeds.x.data)).toEqual([0, 1, 2, 3]);
      const moved = x();
      await session.run(moved, true);
      expect(moved.x.data.length).toBe(0);
      expect(threadId).toBe(0);
    } finally {
      await session.release();
    }
    await expect(session.run(x())).rejects.toThrow(/^session thread exited with code/);
    await session.release();
  });

  it('loads niced, so a load yields the cores to the serving thread, and goes back to normal priority to serve', async () => {
    const session = await WorkerSession.open(await file('niced.onnx', V1), { intraOpNumThreads: 1 });
    try {
      expect(session.loadedAtNice).toBe(10);
      // This process may raise a thread's priority again (root here); an unprivileged one keeps the thread niced.
      await expect(session.serve()).resolves.toBe(process.getuid?.() === 0);
      expect(getPriority()).toBe(0); // the main thread was never niced
    } finally {
      await session.release();
    }
  });

  it('reports a model that fails to load, and one whose run fails, with onnxruntime’s reason', async () => {
    await expect(WorkerSession.open(await file('corrupt.onnx', 'not a model'))).rejects.toThrow(SessionWorkerError);
    const session = await WorkerSession.open(await file('v1b.onnx', V1));
    try {
      await expect(session.run({ wrong: x().x })).rejects.toThrow(/input/i);
      // The thread survives a failed run.
      expect(Array.from((await session.run(x())).y.data as Float32Array)).toEqual([1, 2, 3, 4]);
    } finally {
      await session.release();
    }
  });

  it('warms up with zero inputs of every element type, symbolic dimensions as 1', async () => {
    const types = Object.keys(ELEMENT_TYPES) as ElementType[];
    const session = await WorkerSession.open(await file('identity.onnx', makeIdentityModel(types.map((type) => ({ name: type, type, shape: ['batch', 3, -1] })))));
    try {
      const feeds = zeroFeeds(session.inputs);
      expect(Object.keys(feeds)).toEqual(types);
      for (const type of types) expect(feeds[type]).toMatchObject({ type, dims: [1, 3, 1] });
      expect(Array.from(feeds.float32.data as Float32Array)).toEqual([0, 0, 0]);
      await expect(warmUp(session, 2)).resolves.toBeUndefined();
      await expect(warmUp(session, 0)).resolves.toBeUndefined();
    } finally {
      await session.release();
    }
  });

  it('a warm-up with the inputs the applications send fails on a model with other input names', async () => {
    const current = await WorkerSession.open(await file('cur.onnx', V1));
    const next = await WorkerSession.open(await file('other-input.onnx', OTHER_INPUT));
    try {
      const warm = warmUp(next, 1, current.inputs);
      await expect(warm).rejects.toBeInstanceOf(InputSignatureMismatchError);
      await expect(warm).rejects.toThrow("the model takes inputs [input] but the device's applications send [x]");
    } finally {
      await current.release();
      await next.release();
    }
  });
});

describe('session cache', () => {
  it('shares one session per artifact hash, releasing it with the last lease', async () => {
    let opened = 0;
    const cache = new SessionCache({
      open: (path, options) => {
        opened++;
        return WorkerSession.open(path, options);
      },
    });
    const path = await file('shared.onnx', V2);
    const [a, b] = await Promise.all([cache.acquire(sha(V2), path), cache.acquire(sha(V2), path)]);
    expect(opened).toBe(1);
    expect(a.session).toBe(b.session);
    expect(cache.refs(sha(V2))).toBe(2);
    await a.release();
    await a.release();
    expect(cache.refs(sha(V2))).toBe(1);
    expect(Array.from((await b.session.run(x())).y.data as Float32Array)).toEqual([2, 3, 4, 5]);
    await b.release();
    expect(cache.size).toBe(0);
    await expect(b.session.run(x())).rejects.toThrow(SessionWorkerError);
    // Other session options make another session.
    const c = await cache.acquire(sha(V2), path, { intraOpNumThreads: 1 });
    const d = await cache.acquire(sha(V2), path);
    expect(c.session).not.toBe(d.session);
    await Promise.all([c.release(), d.release()]);
  });

  it('keeps nothing when the load fails, so the next acquire tries again', async () => {
    const cache = new SessionCache();
    const path = await file('later.onnx', 'garbage');
    await expect(Promise.all([cache.acquire('f'.repeat(64), path), cache.acquire('f'.repeat(64), path)])).rejects.toThrow(SessionWorkerError);
    expect(cache.size).toBe(0);
    await writeFile(path, V1);
    const lease = await cache.acquire('f'.repeat(64), path);
    expect(lease.session.inputs[0].name).toBe('x');
    await lease.release();
  });
});

describe('spare session thread', () => {
  it('hands out a started thread, starts the next one after a delay, and ends it on close', async () => {
    const spare = new SpareThread(10);
    const path = await file('spare.onnx', V1);
    const first = await WorkerSession.open(path, {}, spare.take());
    await new Promise((r) => setTimeout(r, 100));
    const t = performance.now();
    const second = await WorkerSession.open(path, {}, spare.take());
    const secondMs = performance.now() - t;
    expect(Array.from((await second.run(x())).y.data as Float32Array)).toEqual([1, 2, 3, 4]);
    await Promise.all([first.release(), second.release()]);
    await spare.close();
    // After close, a take still works (a thread started on demand) but no spare follows.
    const third = await WorkerSession.open(path, {}, spare.take());
    await third.release();
    expect(secondMs).toBeLessThan(1000);
  });
});
