import type { OutputStream } from '../support/cli.js';

/** An output stream that keeps what was written; a fake terminal when `isTTY`. */
export interface CapturedStream extends OutputStream {
  readonly text: string;
}

export function captureStream(options: { isTTY?: boolean; columns?: number } = {}): CapturedStream {
  let text = '';
  return {
    ...options,
    write: (chunk: string) => {
      text += chunk;
      return true;
    },
    get text() {
      return text;
    },
  };
}
