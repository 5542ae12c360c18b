import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { DESIRED_STATE_BUCKET, DISTRIBUTION_OWNERS_BUCKET, DISTRIBUTION_VERBS, EVENTS_STREAM, EVENTS_SUBJECT_PREFIX, TARGET_CLAIMS_BUCKET } from '@hotswap/contracts';
import { eventually, freePort, startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';

/**
 * The production deployment files, checked without Docker: docker-compose.yml, the apps'
 * Dockerfiles, the NATS configs under deploy/ (run by the real nats-server as a 3-node JetStream
 * cluster with a leaf node), prometheus.yml and the runbooks' commands.
 */
const ROOT = process.cwd();
const NATS_SERVER = process.env['NATS_SERVER_BIN'] ?? '/usr/sbin/nats-server';
const run = promisify(execFile);
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

const APPS = ['gateway', 'model-registry', 'validator', 'distributor', 'device-registry', 'monitor', 'edge-agent', 'cli'] as const;
const CONTROL_PLANE = ['gateway', 'model-registry', 'validator', 'distributor', 'device-registry', 'monitor'] as const;
const REPLICATED = ['gateway', 'distributor', 'monitor'];
const RUNBOOKS = ['stuck-rollout.md', 'manual-rollback.md', 'rotate-keys.md', 'add-orchestrator-node.md', 'rebuild-read-models.md', 'nats-node-loss.md'];

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  deploy?: { replicas?: number };
  secrets?: string[];
  profiles?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file: string }>;
}

// Merge keys (<<: *anchor) as docker compose resolves them.
const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;
const services = Object.entries(compose.services);
const serviceOfApp = (app: string) => services.find(([, s]) => s.build?.dockerfile === `apps/${app}/Dockerfile` && s.entrypoint === undefined && !s.profiles?.length);
const byImage = (prefix: string) => services.filter(([, s]) => s.image?.startsWith(prefix));
const bindSources = (s: ComposeService) => (s.volumes ?? []).map((v) => v.split(':')[0]!).filter((src) => src.startsWith('.') || src.startsWith('/'));

// ── where the code reads environment variables ──────────────────────────────────────────────

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'testing' || name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|mjs|js)$/.test(name) && !/\.spec\.ts$/.test(name) ? [path] : [];
  });
}
const libSources = readdirSync(join(ROOT, 'libs')).flatMap((lib) => sourceFiles(join(ROOT, 'libs', lib, 'src')));
const appSources = (app: string) => [...sourceFiles(join(ROOT, 'apps', app, 'src')), ...libSources];

/** Whether one of `files` reads `name` from the environment (a config entry or an env lookup, not a comment). */
function readsEnv(files: readonly string[], name: string): boolean {
  const pattern = new RegExp(`env: '${name}'|env\\[['"]${name}['"]\\]|env\\.${name}\\b`);
  return files.some((file) => pattern.test(readFileSync(file, 'utf8')));
}
/** Read by a third-party library our code hands the configuration to, not by our code. */
const READ_BY_LIBRARIES: Record<string, string> = {
  AWS_ACCESS_KEY_ID: '@aws-sdk/client-s3',
  AWS_SECRET_ACCESS_KEY: '@aws-sdk/client-s3',
};

// ── the hotswap CLI's commands, as apps/cli/src/main.ts dispatches them ─────────────────────

function cliCommands(): Map<string, Set<string> | undefined> {
  const main = read('apps/cli/src/main.ts');
  const commands = new Map<string, Set<string> | undefined>();
  for (const [, name] of main.matchAll(/case '([a-z][a-z-]*)':/g)) {
    const file = `apps/cli/src/commands/${name}.ts`;
    const source = existsSync(join(ROOT, file)) ? read(file) : '';
    const group = new RegExp(`name: '${name}',\\s*commands: \\{([\\s\\S]*?)\\n  \\},\\n\\};`).exec(source);
    if (!group) {
      commands.set(name!, undefined);
      continue;
    }
    const subs = new Set([...group[1]!.matchAll(/^\s+([a-z][a-z-]*): \{ summary/gm)].map((m) => m[1]!));
    // rollout adds one subcommand per operator verb.
    if (group[1]!.includes('DISTRIBUTION_VERBS')) DISTRIBUTION_VERBS.forEach((verb) => subs.add(verb));
    commands.set(name!, subs);
  }
  return commands;
}

/** Every `hotswap <command> [<sub>]` (or `… run --rm cli <command>`) inside code spans and blocks. */
function cliInvocations(markdown: string): Array<{ command: string; sub: string | undefined; text: string }> {
  const code = [...markdown.matchAll(/```[\s\S]*?```|`[^`\n]+`/g)].map((m) => m[0]).join('\n');
  return [...code.matchAll(/(?:\bhotswap|\brun --rm cli)\s+([a-z][a-z-]*)(?:\s+([a-z][a-z-]*))?/g)]
    .map((m) => ({ command: m[1]!, sub: m[2], text: m[0] }));
}

/**
 * The REST calls a runbook makes: `METHOD /path` in prose and `curl [-X METHOD] … $API/path` in
 * commands, placeholders (`<id>`, `{id}`, `$VAR`) turned into a plain segment.
 */
function restCalls(markdown: string): Array<{ method: string; path: string }> {
  const normalise = (path: string) => path.split('?')[0]!.replace(/<[^>]+>|\{[^}]+\}|\$[A-Za-z_]+/g, 'x').replace(/['"]+$/, '');
  const prose = [...markdown.matchAll(/\b(GET|POST|PUT|DELETE) (\/[A-Za-z0-9/_{}<>$.-]*)/g)].map(([, method, path]) => ({ method: method!, path: normalise(path!) }));
  const curls = [...markdown.matchAll(/curl\b([^\n`]*?)\$API(\/[^\s|'"`]*)/g)].map(([, options, path]) => ({
    method: /-X (GET|POST|PUT|DELETE)\b/.exec(options!)?.[1] ?? 'GET',
    path: normalise(path!),
  }));
  return [...prose, ...curls];
}

/** Every `GET|POST|PUT|DELETE /api/v1/...` route the gateway's controllers declare, as regexes. */
function gatewayRoutes(): Array<{ method: string; pattern: RegExp }> {
  const routes: Array<{ method: string; pattern: RegExp }> = [];
  for (const file of sourceFiles(join(ROOT, 'apps/gateway/src'))) {
    const source = readFileSync(file, 'utf8');
    const base = /@Controller\((?:'([^']*)')?\)/.exec(source)?.[1] ?? '';
    for (const [, method, path] of source.matchAll(/@(Get|Post|Put|Delete)\((?:'([^']*)')?\)/g)) {
      const full = `/${[base, path].filter(Boolean).join('/')}`;
      routes.push({ method: method!.toUpperCase(), pattern: new RegExp(`^${full.replace(/:[a-zA-Z]+/g, '[^/]+').replace(/\*\w+/, '.+')}$`) });
    }
  }
  return routes;
}

describe('docker-compose.yml', () => {
  it('runs every control-plane app and the edge agent from its own Dockerfile, with 2 replicas of gateway, distributor and monitor', () => {
    for (const app of [...CONTROL_PLANE, 'edge-agent']) {
      const entry = serviceOfApp(app);
      expect(entry?.[0]).toBe(app);
      expect(entry![1].deploy?.replicas ?? 1).toBe(REPLICATED.includes(app) ? 2 : 1);
    }
  });

  it('has a 3-node JetStream cluster with every node routed to the others, and a leaf node linked to all of them', () => {
    const nodes = byImage('nats:').filter(([, s]) => s.command?.join(' ').includes('hub.conf'));
    expect(nodes.map(([name]) => name)).toEqual(['nats-1', 'nats-2', 'nats-3']);
    expect(new Set(nodes.map(([, s]) => s.environment?.['NATS_SERVER_NAME'])).size).toBe(3);
    const hub = read('deploy/nats/hub.conf');
    expect(hub).toMatch(/^jetstream \{/m);
    expect(hub).toMatch(/^cluster \{/m);
    for (const [name] of nodes) expect(hub).toContain(`nats-route://${name}:6222`);

    const leaves = byImage('nats:').filter(([, s]) => s.command?.join(' ').includes('leaf.conf'));
    expect(leaves.map(([name]) => name)).toEqual(['nats-leaf']);
    const leaf = read('deploy/nats/leaf.conf');
    expect(leaf).not.toMatch(/jetstream/);
    for (const [name] of nodes) expect(leaf).toContain(`nats-leaf://${name}:7422`);
    // The services reach every node; the edge agent only the leaf.
    for (const app of CONTROL_PLANE) expect(serviceOfApp(app)![1].environment?.['NATS_URL']).toBe(nodes.map(([name]) => `nats://${name}:4222`).join(','));
    expect(serviceOfApp('edge-agent')![1].environment?.['NATS_URL']).toBe('nats://nats-leaf:4222');
  });

  it('has EventStoreDB, PostgreSQL, MinIO, the OTel collector, Jaeger and Prometheus', () => {
    for (const image of ['eventstore/eventstore:', 'postgres:', 'minio/minio:', 'otel/opentelemetry-collector', 'jaegertracing/all-in-one:', 'prom/prometheus:']) {
      expect({ image, services: byImage(image).length }).toEqual({ image, services: 1 });
    }
  });

  it('names only Dockerfiles and mounted files that exist', () => {
    for (const [name, s] of services) {
      if (s.build) expect({ name, dockerfile: existsSync(join(ROOT, s.build.context, s.build.dockerfile)) }).toEqual({ name, dockerfile: true });
      for (const source of bindSources(s)) expect({ name, source, exists: existsSync(join(ROOT, source)) }).toEqual({ name, source, exists: true });
    }
  });

  it('takes the manifest keys from the files npm start creates (gitignored .hotswap/keys), readable in the containers as secrets', () => {
    const localSecrets = read('apps/cli/src/embedded/local-secrets.ts');
    for (const [name, secret] of Object.entries(compose.secrets ?? {})) {
      expect(secret.file.startsWith('./.hotswap/keys/')).toBe(true);
      expect({ name, createdByNpmStart: localSecrets.includes(`'${posix.basename(secret.file)}'`) }).toEqual({ name, createdByNpmStart: true });
    }
    for (const [name, s] of services) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        const secret = /^\/run\/secrets\/(.+)$/.exec(value)?.[1];
        if (secret) expect({ name, key, mounted: s.secrets?.includes(secret) ?? false }).toEqual({ name, key, mounted: true });
      }
    }
  });

  it('sets for each app only environment variables that app (or a library it uses) reads', () => {
    const unread: string[] = [];
    for (const app of APPS) {
      for (const [name, s] of services.filter(([, s]) => s.build?.dockerfile === `apps/${app}/Dockerfile`)) {
        // A job running a mounted script with the app's image reads what the script reads.
        const scripts = bindSources(s).filter((src) => src.endsWith('.mjs')).map((src) => join(ROOT, src));
        const files = s.entrypoint ? scripts : appSources(app);
        for (const key of Object.keys(s.environment ?? {})) {
          const library = READ_BY_LIBRARIES[key];
          const read = library ? existsSync(join(ROOT, 'node_modules', library)) : readsEnv(files, key);
          if (!read) unread.push(`${name}: ${key}`);
        }
      }
    }
    expect(unread).toEqual([]);
  });

  it('the environment check catches a variable nobody reads', () => {
    expect(readsEnv(appSources('gateway'), 'HOTSWAP_JWT_SECRET')).toBe(true);
    expect(readsEnv(appSources('gateway'), 'HOTSWAP_DEVICE_ID')).toBe(false); // the edge agent's, not the gateway's
    expect(readsEnv(appSources('gateway'), 'HOTSWAP_NO_SUCH_SETTING')).toBe(false);
  });
});

describe('the apps\' Dockerfiles', () => {
  const build = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { outDir: string; rootDir: string }; include: string[] };

  it.each(APPS)('%s: multi-stage, ends as a non-root user, and starts the main that npm run build produces', (app) => {
    const dockerfile = read(`apps/${app}/Dockerfile`);
    const lines = dockerfile.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const froms = lines.map((l, i) => (/^FROM\s/i.test(l) ? i : -1)).filter((i) => i >= 0);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const final = lines.slice(froms.at(-1));
    expect(final.some((l) => /^COPY --from=build\s/.test(l))).toBe(true);
    const user = final.filter((l) => /^USER\s/.test(l)).at(-1)?.split(/\s+/)[1];
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);

    // npm run build = tsc -p tsconfig.build.json: apps/<app>/src/main.ts → <outDir>/apps/<app>/src/main.js.
    expect(build.include).toContain('apps/*/src/**/*.ts');
    expect(build.compilerOptions.rootDir).toBe('.');
    expect(existsSync(join(ROOT, 'apps', app, 'src', 'main.ts'))).toBe(true);
    const main = posix.join(build.compilerOptions.outDir, 'apps', app, 'src', 'main.js');
    const start = final.filter((l) => /^(ENTRYPOINT|CMD)\s/.test(l)).map((l) => JSON.parse(l.replace(/^\w+\s+/, '')) as string[]);
    const argv = start.flat();
    expect(argv).toContain(main);
    // The compiled code imports @hotswap/* by alias: the hook that maps them must load first, from the image.
    expect(argv.slice(0, argv.indexOf(main))).toEqual(expect.arrayContaining(['--import', './tools/register.mjs']));
    expect(final.some((l) => /^COPY --from=build .*\/app\/tools\s/.test(l))).toBe(true);
    expect(existsSync(join(ROOT, 'tools', 'register.mjs'))).toBe(true);
  });

  it('replace the single root Dockerfile, and .dockerignore keeps local state and secrets out of the build', () => {
    expect(existsSync(join(ROOT, 'Dockerfile'))).toBe(false);
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['.hotswap', 'node_modules', 'dist', '.git']) expect(ignored).toContain(entry);
  });
});

describe('prometheus.yml', () => {
  it('scrapes every replica of every service that serves /metrics, on the port it serves it on', () => {
    const prometheus = parse(read('deploy/prometheus.yml')) as { scrape_configs: Array<{ job_name: string; dns_sd_configs?: Array<{ names: string[]; type: string; port: number }> }> };
    const targets = new Map(prometheus.scrape_configs.flatMap((job) => (job.dns_sd_configs ?? []).flatMap((sd) => sd.names.map((name) => [name, sd.port] as const))));
    // The gateway serves /metrics on its HTTP port; the NATS-only services on METRICS_PORT.
    const expected = new Map<string, number>();
    for (const app of CONTROL_PLANE) {
      const [name, s] = serviceOfApp(app)!;
      const main = read(`apps/${app}/src/main.ts`);
      if (app === 'gateway') expected.set(name, Number(s.environment?.['PORT'] ?? 8080));
      else {
        // Every service built on the shared runtime can serve metrics; compose must turn it on.
        expect({ app, usesRuntime: /runServiceModule|serviceRuntimeFromEnv/.test(main) }).toEqual({ app, usesRuntime: true });
        expect({ app, metricsPort: s.environment?.['METRICS_PORT'] !== undefined }).toEqual({ app, metricsPort: true });
        expected.set(name, Number(s.environment!['METRICS_PORT']));
      }
    }
    expect(Object.fromEntries(targets)).toEqual(Object.fromEntries(expected));
    expect(compose.services['prometheus']?.volumes).toContain('./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
  });
});

describe('the NATS configs under deploy/', () => {
  let dir: string;
  let nodes: NatsServer[] = [];
  let leaf: NatsServer | undefined;
  const connections: NatsConnection[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hotswap-deploy-'));
  });

  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
    await leaf?.stop();
    await Promise.all(nodes.map((node) => node.stop()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** nats-server -t: the exit status says whether the server accepts the file. */
  async function accepted(file: string, env: Record<string, string> = {}): Promise<{ ok: boolean; output: string }> {
    try {
      const { stdout, stderr } = await run(NATS_SERVER, ['-t', '-c', file], { env: { ...process.env, ...env } });
      return { ok: true, output: stdout + stderr };
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string };
      return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
    }
  }

  it('are accepted by the real nats-server (nats-server -t), which rejects a broken one', async () => {
    expect(await accepted(join(ROOT, 'deploy/nats/hub.conf'), { NATS_SERVER_NAME: 'nats-1' })).toMatchObject({ ok: true });
    expect(await accepted(join(ROOT, 'deploy/nats/leaf.conf'))).toMatchObject({ ok: true });
    // Without the node name compose sets, the hub config is refused: each node needs its own.
    const unnamed = await accepted(join(ROOT, 'deploy/nats/hub.conf'), {});
    expect(unnamed.ok).toBe(false);
    expect(unnamed.output).toContain('NATS_SERVER_NAME');
    const broken = join(dir, 'broken.conf');
    await writeFile(broken, read('deploy/nats/hub.conf').replace('cluster {', 'cluster {{'));
    expect((await accepted(broken, { NATS_SERVER_NAME: 'nats-1' })).ok).toBe(false);
  });

  it('form a 3-node JetStream cluster that the init job replicates onto, reachable from the leaf, surviving the loss of one node', async () => {
    // The compose configs with the compose hostnames and ports rewritten to free loopback ports.
    const names = ['nats-1', 'nats-2', 'nats-3'];
    const ports = await Promise.all(names.map(async () => ({ client: await freePort(), route: await freePort(), leaf: await freePort(), http: await freePort() })));
    const hub = read('deploy/nats/hub.conf');
    const configs = await Promise.all(names.map(async (name, i) => {
      let text = hub
        .replace('$NATS_SERVER_NAME', name)
        .replace(/store_dir: \/data/, `store_dir: "${join(dir, name)}"`)
        .replace('http_port: 8222', `http_port: ${ports[i]!.http}`)
        .replace('listen: 0.0.0.0:6222', `listen: 127.0.0.1:${ports[i]!.route}`)
        .replace('listen: 0.0.0.0:7422', `listen: 127.0.0.1:${ports[i]!.leaf}`);
      names.forEach((other, j) => { text = text.replace(`nats-route://${other}:6222`, `nats-route://127.0.0.1:${ports[j]!.route}`); });
      expect(text).not.toMatch(/nats-\d:|0\.0\.0\.0|\/data\b/);
      const file = join(dir, `${name}.conf`);
      await writeFile(file, text);
      return file;
    }));
    let leafText = read('deploy/nats/leaf.conf').replace('http_port: 8222', `http_port: ${await freePort()}`);
    names.forEach((name, j) => { leafText = leafText.replace(`nats-leaf://${name}:7422`, `nats-leaf://127.0.0.1:${ports[j]!.leaf}`); });
    const leafFile = join(dir, 'leaf.conf');
    await writeFile(leafFile, leafText);

    // JetStream comes from each config's own jetstream block (the harness adds none).
    nodes = await Promise.all(configs.map((config, i) => startNatsServer({ jetstream: false, config, port: ports[i]!.client })));
    leaf = await startNatsServer({ jetstream: false, config: leafFile });
    const natsUrl = nodes.map((node) => node.url).join(',');

    // The init job (as compose runs it) creates the event stream and buckets once the cluster has a leader.
    const init = await eventually(
      () => run(process.execPath, [join(ROOT, 'deploy/nats/jetstream-init.mjs'), '--replicas', '3'], { env: { ...process.env, NATS_URL: natsUrl } })
        .then(({ stdout }) => stdout, (error: Error & { stderr?: string }) => `failed: ${error.stderr ?? error.message}`),
      (out) => !out.startsWith('failed'), 15_000, 250,
    );
    expect(init).toContain(`${EVENTS_STREAM}: created with 3 replicas`);

    const client = await connect({ servers: natsUrl.split(','), reconnectTimeWait: 100 });
    connections.push(client);
    const jsm = await jetstreamManager(client);
    const events = await jsm.streams.info(EVENTS_STREAM);
    // A leader and two followers: a cluster of 3 holds the event store.
    expect(events.config).toMatchObject({ num_replicas: 3, subjects: [`${EVENTS_SUBJECT_PREFIX}.>`], duplicate_window: 120_000_000_000 });
    expect(events.cluster?.replicas).toHaveLength(2);
    expect(new Set([events.cluster?.leader, ...(events.cluster?.replicas ?? []).map((r) => r.name)])).toEqual(new Set(names));

    // Every KV bucket the services create is created replicated (names from the code, not copied).
    const declared = new Set([DESIRED_STATE_BUCKET, TARGET_CLAIMS_BUCKET, DISTRIBUTION_OWNERS_BUCKET]);
    for (const file of [...sourceFiles(join(ROOT, 'apps')), ...libSources]) {
      for (const [, bucket] of readFileSync(file, 'utf8').matchAll(/_BUCKET = '([a-z-]+)'/g)) declared.add(bucket!);
    }
    for (const bucket of declared) expect({ bucket, replicas: (await jsm.streams.info(`KV_${bucket}`)).config.num_replicas }).toEqual({ bucket, replicas: 3 });

    // A second run changes nothing.
    const again = await run(process.execPath, [join(ROOT, 'deploy/nats/jetstream-init.mjs')], { env: { ...process.env, NATS_URL: natsUrl } });
    expect(again.stdout).toContain(`${EVENTS_STREAM}: already 3 replicas`);

    // A device on the leaf reaches a service on the cluster (request/reply across the leaf link).
    const service = await connect({ servers: nodes[2]!.url });
    connections.push(service);
    service.subscribe('deploy-spec.ping', { callback: (_error, msg) => { msg.respond('pong'); } });
    await service.flush();
    const device = await connect({ servers: leaf.url });
    connections.push(device);
    const reply = await eventually(
      () => device.request('deploy-spec.ping', '', { timeout: 500 }).then((m) => m.string(), () => 'no reply'),
      (answer) => answer === 'pong', 15_000, 100,
    );
    expect(reply).toBe('pong');

    // Losing one node: the event stream keeps a quorum (2 of 3) and still takes commits.
    const js = jetstream(client);
    await nodes[0]!.kill();
    const ack = await eventually(
      () => js.publish(`${EVENTS_SUBJECT_PREFIX}.deploy-spec`, 'commit', { timeout: 1_000 }).then((a) => a.seq, () => 0),
      (seq) => seq > 0, 15_000, 200,
    );
    expect(ack).toBeGreaterThan(0);
  }, 60_000);
});

describe('the runbooks', () => {
  const commands = cliCommands();
  const routes = gatewayRoutes();
  const text = (file: string) => read(`docs/runbooks/${file}`);

  it('are all listed in docs/runbooks/README.md', () => {
    const index = text('README.md');
    for (const file of RUNBOOKS) expect({ file, linked: index.includes(`](${file})`), exists: existsSync(join(ROOT, 'docs/runbooks', file)) }).toEqual({ file, linked: true, exists: true });
  });

  it.each(RUNBOOKS)('%s: symptoms, checks, actions and verification', (file) => {
    const body = text(file);
    for (const section of ['Symptoms', 'Checks', 'Actions', 'Verification']) expect({ file, section, present: new RegExp(`^## ${section}`, 'm').test(body) }).toEqual({ file, section, present: true });
  });

  it.each(['README.md', ...RUNBOOKS])('%s: every hotswap command it gives is one the CLI has', (file) => {
    const invocations = cliInvocations(text(file));
    const wrong = invocations.filter(({ command, sub }) => {
      if (!commands.has(command)) return true;
      const subs = commands.get(command);
      return subs !== undefined && (sub === undefined || !subs.has(sub));
    });
    expect(wrong.map((w) => w.text)).toEqual([]);
  });

  it.each(RUNBOOKS)('%s: every REST endpoint it calls is one the gateway serves', (file) => {
    const calls = restCalls(text(file));
    const unknown = calls.filter(({ method, path }) => !routes.some((r) => r.method === method && r.pattern.test(path)));
    expect(unknown).toEqual([]);
  });

  it.each(RUNBOOKS)('%s: every HotSwap setting it names is read by the code', (file) => {
    const named = new Set([...text(file).matchAll(/\b(HOTSWAP_[A-Z0-9_]+|NATS_URL|DATABASE_URL|METRICS_PORT)\b/g)].map((m) => m[1]!));
    const everywhere = [...APPS.flatMap((app) => sourceFiles(join(ROOT, 'apps', app, 'src'))), ...libSources];
    // Compose-only names: interpolation variables of docker-compose.yml, not settings of a service.
    const composeOnly = new Set([...read('docker-compose.yml').matchAll(/\$\{([A-Z0-9_]+)[:}]/g)].map((m) => m[1]!).filter((v) => !readsEnv(everywhere, v)));
    // HOTSWAP_EVENTS is the event stream's name, not a setting.
    expect([...named].filter((name) => name !== EVENTS_STREAM && !composeOnly.has(name) && !readsEnv(everywhere, name))).toEqual([]);
  });

  it('the command and endpoint checks know the CLI and the gateway (and would catch invented ones)', () => {
    const calls = restCalls('`GET /api/v1/audit?actor=x` then curl -s -X POST -H "$AUTH" $API/api/v1/distributions/<id>/rebuild and curl -s $API/readyz');
    expect(calls).toEqual([
      { method: 'GET', path: '/api/v1/audit' }, { method: 'POST', path: '/api/v1/distributions/x/rebuild' }, { method: 'GET', path: '/readyz' },
    ]);
    expect(calls.map(({ method, path }) => routes.some((r) => r.method === method && r.pattern.test(path)))).toEqual([true, false, true]);
    expect(RUNBOOKS.flatMap((file) => restCalls(text(file))).length).toBeGreaterThan(20);

    expect(commands.get('rollout')).toEqual(new Set(['create', 'list', 'status', 'watch', ...DISTRIBUTION_VERBS]));
    expect(commands.get('models')?.has('push')).toBe(true);
    expect(commands.has('token')).toBe(true);
    expect(commands.has('rebuild')).toBe(false);
    expect(cliInvocations('run `hotswap rollout status d-1` then `hotswap models rebuild`').map((i) => [i.command, i.sub])).toEqual([['rollout', 'status'], ['models', 'rebuild']]);
  });
});
