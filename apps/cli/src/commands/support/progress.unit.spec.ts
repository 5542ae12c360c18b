import { describe, expect, it } from '@jest/globals';
import { captureStream } from '../testing/capture-stream.js';
import { ProgressBar } from './progress.js';

const MB = 1_000_000;

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('ProgressBar on a terminal', () => {
  it('redraws in place with percent, bytes, MB/s and ETA, at most every redraw interval', () => {
    const c = clock();
    const out = captureStream({ isTTY: true, columns: 100 });
    const bar = new ProgressBar(out, 'upload', 100 * MB, { now: c.now, redrawIntervalMs: 100 });
    c.advance(1000);
    bar.advance(25 * MB);
    c.advance(50);
    bar.advance(1 * MB); // within 100 ms of the last redraw: not drawn
    const frames = out.text.split('\r').filter(Boolean);
    expect(frames).toEqual([`upload [#######.......................]  25% 25.0 MB/100.0 MB 25.0 MB/s ETA 0:03\x1b[K`]);
    c.advance(950);
    bar.advance(24 * MB);
    c.advance(1000);
    bar.advance(50 * MB);
    expect(bar.finish()).toBeCloseTo(100 * MB / 3.0, 0);
    expect(out.text.split('\r').at(-1)).toBe(`upload [##############################] 100% 100.0 MB/100.0 MB 33.3 MB/s in 0:03\x1b[K\n`);
  });

  it('drops the bar on a narrow terminal but keeps the figures', () => {
    const out = captureStream({ isTTY: true, columns: 40 });
    const c = clock();
    const bar = new ProgressBar(out, 'checksum', 2000, { now: c.now });
    c.advance(2000);
    bar.advance(1000);
    expect(out.text).toBe('\rchecksum  50% 1.00 kB/2.00 kB 0.0 MB/s ETA 0:02\x1b[K');
  });

  it('ends the drawn line on abort so an error starts on its own line', () => {
    const out = captureStream({ isTTY: true });
    const bar = new ProgressBar(out, 'upload', 10);
    bar.abort();
    expect(out.text).toBe('');
    bar.advance(5);
    bar.abort();
    expect(out.text.endsWith('\n')).toBe(true);
  });

  it('shows no rate before any time has passed and a zero-byte file as done', () => {
    const out = captureStream({ isTTY: true, columns: 120 });
    const bar = new ProgressBar(out, 'upload', 0, { now: () => 0 });
    expect(bar.finish()).toBe(Number.POSITIVE_INFINITY);
    expect(out.text).toContain('100% 0 B/0 B -- MB/s in 0:00');
  });
});

describe('ProgressBar elsewhere (a pipe, a CI log)', () => {
  it('prints a plain line per interval and nothing on finish', () => {
    const c = clock();
    const out = captureStream();
    const bar = new ProgressBar(out, 'upload', 3000 * MB, { now: c.now, lineIntervalMs: 5000 });
    c.advance(1000);
    bar.advance(100 * MB);
    expect(out.text).toBe('');
    c.advance(4000);
    bar.advance(400 * MB);
    c.advance(5000);
    bar.advance(500 * MB);
    bar.finish();
    expect(out.text).toBe([
      'upload  16% 500.0 MB/3.00 GB 100.0 MB/s ETA 0:25',
      'upload  33% 1.00 GB/3.00 GB 100.0 MB/s ETA 0:20',
      '',
    ].join('\n'));
  });

  it('stays silent when lines are turned off', () => {
    const c = clock();
    const out = captureStream();
    const bar = new ProgressBar(out, 'upload', 10, { now: c.now, lineIntervalMs: 0 });
    c.advance(60_000);
    bar.advance(5);
    expect(out.text).toBe('');
  });
});
