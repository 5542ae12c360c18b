/** Columns padded to their widest cell, two spaces apart; `headers` in capitals by convention. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `key: value` lines with the values aligned; undefined values are left out. */
export function fields(entries: ReadonlyArray<readonly [string, string | undefined]>): string {
  const shown = entries.filter((e): e is readonly [string, string] => e[1] !== undefined);
  const width = Math.max(...shown.map(([k]) => k.length)) + 1;
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width)}  ${v}`).join('\n');
}

/** Byte counts in decimal units (1 MB = 10^6 bytes, the unit of MB/s). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** Seconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A number as measured: up to `digits` decimals, no trailing zeros; `-` when not measured. */
export function formatNumber(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined) return '-';
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(digits)));
}

/** How long ago an ISO timestamp was, e.g. `3s ago`, `5m ago`; `never` for null. */
export function ago(iso: string | null | undefined, nowMs: number = Date.now()): string {
  if (!iso) return 'never';
  const seconds = Math.round((nowMs - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return iso;
  if (seconds < 60) return `${Math.max(0, seconds)}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}
