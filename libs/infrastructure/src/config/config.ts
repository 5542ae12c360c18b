/**
 * Configuration from environment variables, validated once at start-up: every problem is
 * collected and reported together, one line per variable, so an operator fixes them in one go.
 */

/** One configuration variable. */
export interface ConfigVar<T> {
  /** Name of the environment variable. */
  readonly env: string;
  /** Raw value used when the variable is unset or empty; it goes through `parse` like any value. */
  readonly default?: string;
  /** Without a default, an unset variable gives `undefined` instead of a "missing" problem. */
  readonly optional?: boolean;
  /** Keep the raw value out of error messages (passwords, signing secrets). */
  readonly secret?: boolean;
  /** Turns the raw string into the value; throws (any Error) with a precise message when invalid. */
  readonly parse: (raw: string) => T;
  /** What the variable controls, with units; shown by `describeConfig`. */
  readonly description: string;
}

export type ConfigSchema = Readonly<Record<string, ConfigVar<unknown>>>;

/** The parsed configuration: one typed property per schema entry. */
export type Config<S extends ConfigSchema> = {
  readonly [K in keyof S]: S[K] extends ConfigVar<infer T>
    ? S[K] extends { readonly optional: true }
      ? S[K] extends { readonly default: string }
        ? T
        : T | undefined
      : T
    : never;
};

export interface ConfigProblem {
  readonly env: string;
  readonly problem: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(['invalid configuration:', ...problems.map((p) => `  ${p.env}: ${p.problem}`)].join('\n'));
    this.name = 'ConfigError';
  }
}

/** Error parsers throw for a value they refuse; its message says what was expected. */
export class ConfigValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigValueError';
  }
}

/** Declares a schema with its literal types kept (so `optional: true` is seen by `Config<S>`). */
export function defineConfig<const S extends ConfigSchema>(schema: S): S {
  return schema;
}

/**
 * Parses `env` against `schema`.
 * @throws ConfigError listing every missing or invalid variable, one per line.
 */
export function loadConfig<const S extends ConfigSchema>(
  schema: S,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config<S> {
  const values: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const [name, spec] of Object.entries(schema)) {
    const given = env[spec.env];
    // An empty variable counts as unset: `FOO=` in a compose file means "use the default".
    const raw = given === undefined || given === '' ? spec.default : given;
    if (raw === undefined) {
      if (spec.optional) values[name] = undefined;
      else problems.push({ env: spec.env, problem: `missing (${spec.description})` });
      continue;
    }
    try {
      values[name] = spec.parse(raw);
    } catch (error) {
      const shown = spec.secret ? '' : ` (got ${JSON.stringify(raw)}${raw === given ? '' : ', the default'})`;
      problems.push({ env: spec.env, problem: `${(error as Error).message}${shown}` });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values as Config<S>;
}

/** One line per variable — name, default, description — for `--help` output and docs. */
export function describeConfig(schema: ConfigSchema): string {
  return Object.values(schema)
    .map((spec) => {
      const fallback =
        spec.default !== undefined ? `default ${spec.secret ? '(hidden)' : spec.default}` : spec.optional ? 'optional' : 'required';
      return `${spec.env} (${fallback}): ${spec.description}`;
    })
    .join('\n');
}
