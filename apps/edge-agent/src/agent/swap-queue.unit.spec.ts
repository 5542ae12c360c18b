import { describe, it, expect } from '@jest/globals';
import { SwapQueue } from './swap-queue.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('swap queue', () => {
  it('runs one job at a time and a newer job supersedes the queued one', async () => {
    const ran: string[] = [];
    const superseded: Array<[string, string]> = [];
    const gate = deferred();
    const queue = new SwapQueue<string>(
      async (job) => {
        ran.push(job);
        if (job === 'a') await gate.promise;
      },
      (dropped, by) => superseded.push([dropped, by]),
      () => {},
    );
    queue.submit('a');
    queue.submit('b');
    queue.submit('c');
    expect(queue.running).toBe('a');
    expect(queue.pending).toBe('c');
    expect(superseded).toEqual([['b', 'c']]);
    gate.resolve();
    await queue.idle();
    expect(ran).toEqual(['a', 'c']);
    expect(queue.running).toBeUndefined();
  });

  it('keeps going after a job throws, reporting the error', async () => {
    const errors: string[] = [];
    const ran: string[] = [];
    const queue = new SwapQueue<string>(
      async (job) => {
        ran.push(job);
        if (job === 'bad') throw new Error('boom');
      },
      () => {},
      (err, job) => errors.push(`${job}: ${(err as Error).message}`),
    );
    queue.submit('bad');
    queue.submit('good');
    await queue.idle();
    expect(ran).toEqual(['bad', 'good']);
    expect(errors).toEqual(['bad: boom']);
  });

  it('is idle at once when nothing was submitted', async () => {
    const queue = new SwapQueue<string>(async () => {}, () => {}, () => {});
    await expect(queue.idle()).resolves.toBeUndefined();
  });
});
