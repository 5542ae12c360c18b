import { defineConfig, int, loadConfig } from '@hotswap/infrastructure';
import { DEFAULT_INSPECTION_LIMITS, type InspectionLimits } from './artifact-inspector.js';

/** A finite number > 0 (ratios may be fractional). */
function positiveNumber(raw: string): number {
  const value = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0) throw new Error('must be a number > 0');
  return value;
}

/** The ZIP inspection limits an operator can set; unset variables keep `DEFAULT_INSPECTION_LIMITS`. */
export const inspectionLimitsConfig = defineConfig({
  maxEntries: {
    env: 'HOTSWAP_ZIP_MAX_ENTRIES', default: String(DEFAULT_INSPECTION_LIMITS.maxEntries), parse: int({ min: 1 }),
    description: 'most entries (files and directories) a ZIP artifact may declare',
  },
  maxUncompressedBytes: {
    env: 'HOTSWAP_ZIP_MAX_UNCOMPRESSED_BYTES', default: String(DEFAULT_INSPECTION_LIMITS.maxUncompressedBytes), parse: int({ min: 1 }),
    description: 'largest declared uncompressed total of a ZIP artifact, in bytes',
  },
  maxCompressionRatio: {
    env: 'HOTSWAP_ZIP_MAX_RATIO', default: String(DEFAULT_INSPECTION_LIMITS.maxCompressionRatio), parse: positiveNumber,
    description: 'largest uncompressed/compressed ratio of a ZIP entry over 1 MiB (zip-bomb guard)',
  },
});

/**
 * The limits from the environment.
 * @throws ConfigError naming every invalid variable.
 */
export function inspectionLimitsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): InspectionLimits {
  return { ...loadConfig(inspectionLimitsConfig, env) };
}
