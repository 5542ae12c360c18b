import type { OutputStream } from './cli.js';
import { formatBytes, formatDuration } from './format.js';

export interface ProgressOptions {
  /** Monotonic clock in ms. */
  readonly now?: () => number;
  /** Least time between redraws on a terminal, in ms. */
  readonly redrawIntervalMs?: number;
  /** Time between plain progress lines when the stream is not a terminal, in ms (0: none). */
  readonly lineIntervalMs?: number;
}

const BAR_WIDTH = 30;

/**
 * A byte progress bar with rate and ETA. On a terminal it is redrawn in place (`\r`), at most every
 * `redrawIntervalMs`; elsewhere (a pipe, a CI log) it prints a plain line every `lineIntervalMs`,
 * so a short transfer prints nothing and a long one leaves a readable trail.
 */
export class ProgressBar {
  private done = 0;
  private readonly startedAt: number;
  private lastDrawAt = Number.NEGATIVE_INFINITY;
  private lastLineAt: number;
  private drawn = false;
  private readonly now: () => number;

  constructor(
    private readonly out: OutputStream,
    private readonly label: string,
    private readonly totalBytes: number,
    private readonly options: ProgressOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    this.startedAt = this.now();
    this.lastLineAt = this.startedAt;
  }

  advance(bytes: number): void {
    this.done += bytes;
    const now = this.now();
    if (this.out.isTTY) {
      if (now - this.lastDrawAt >= (this.options.redrawIntervalMs ?? 100)) this.draw(now, false);
    } else {
      const interval = this.options.lineIntervalMs ?? 5000;
      if (interval > 0 && now - this.lastLineAt >= interval) {
        this.lastLineAt = now;
        this.out.write(`${this.describe(now, false)}\n`);
      }
    }
  }

  /** Draws the final state on a terminal and ends the line; returns the mean rate in bytes/s. */
  finish(): number {
    const now = this.now();
    if (this.out.isTTY) {
      this.draw(now, true);
      this.out.write('\n');
    }
    const seconds = (now - this.startedAt) / 1000;
    return seconds > 0 ? this.done / seconds : Number.POSITIVE_INFINITY;
  }

  /** Leaves the terminal line as it was drawn, so an error message starts on a fresh line. */
  abort(): void {
    if (this.out.isTTY && this.drawn) this.out.write('\n');
  }

  private draw(now: number, finished: boolean): void {
    this.lastDrawAt = now;
    this.drawn = true;
    const text = this.describe(now, finished);
    // A pseudo-terminal may report 0 columns.
    const columns = this.out.columns || 80;
    const room = columns - text.length - 3;
    const bar = room >= 10 ? ` [${this.bar(Math.min(BAR_WIDTH, room))}]` : '';
    // \x1b[K clears what a longer previous line left behind.
    this.out.write(`\r${this.label}${bar}${text.slice(this.label.length)}\x1b[K`);
  }

  private bar(width: number): string {
    const filled = this.totalBytes > 0 ? Math.min(width, Math.floor((this.done / this.totalBytes) * width)) : width;
    return '#'.repeat(filled) + '.'.repeat(width - filled);
  }

  private describe(now: number, finished: boolean): string {
    const seconds = (now - this.startedAt) / 1000;
    const rate = seconds > 0 ? this.done / seconds : undefined;
    const percent = this.totalBytes > 0 ? Math.floor((this.done / this.totalBytes) * 100) : 100;
    const mbPerSec = rate === undefined ? '--' : (rate / 1e6).toFixed(1);
    const timing = finished
      ? `in ${formatDuration(seconds)}`
      : `ETA ${rate ? formatDuration((this.totalBytes - this.done) / rate) : '--:--'}`;
    return `${this.label} ${String(percent).padStart(3)}% ${formatBytes(this.done)}/${formatBytes(this.totalBytes)} ${mbPerSec} MB/s ${timing}`;
  }
}
