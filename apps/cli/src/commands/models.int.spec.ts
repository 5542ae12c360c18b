import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';
import { join } from 'node:path';
import type { ModelView, Page, ValidationReportView } from '@hotswap/contracts';
import { freePort, makeAddModel, makeSlowModel } from '@hotswap/infrastructure/testing';
import { models } from './models.js';
import { captureStream, startCliHarness, type CliHarness } from './testing/cli-harness.js';

let h: CliHarness;

/**
 * An HTTP proxy to the gateway that flips one bit of the last file byte of each multipart body it
 * forwards (the byte before the closing `\r\n--<boundary>--\r\n`).
 */
async function startCorruptingProxy(target: string): Promise<{ url: string; corrupted(): number; close(): Promise<void> }> {
  let corrupted = 0;
  const server = createServer((req, res) => {
    const boundary = /boundary=(\S+)/.exec(req.headers['content-type'] ?? '')?.[1];
    const length = Number(req.headers['content-length'] ?? 0);
    const at = boundary === undefined ? -1 : length - `\r\n--${boundary}--\r\n`.length - 1;
    let offset = 0;
    const flip = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        if (at >= offset && at < offset + chunk.length) {
          chunk = Buffer.from(chunk);
          chunk[at - offset]! ^= 1;
          corrupted++;
        }
        offset += chunk.length;
        done(null, chunk);
      },
    });
    const upstream = request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(flip).pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    corrupted: () => corrupted,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
let adderFile: string;

beforeAll(async () => {
  h = await startCliHarness();
  adderFile = join(h.dir, 'adder.onnx');
  await writeFile(adderFile, makeAddModel({ addend: 1 }));
}, 60_000);

afterAll(async () => {
  await h?.close();
}, 30_000);

async function getModel(id: string): Promise<ModelView> {
  const { code, stdout } = await h.run(models, ['get', id, '--json']);
  expect(code).toBe(0);
  return JSON.parse(stdout) as ModelView;
}

async function waitForStatus(id: string, wanted: ModelView['status'][]): Promise<ModelView> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const model = await getModel(id);
    if (wanted.includes(model.status)) return model;
    if (Date.now() > deadline) throw new Error(`model ${id} stayed ${model.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('hotswap models push', () => {
  it('uploads a model, inferring onnx from the extension, and prints its id', async () => {
    const { code, stdout, stderr } = await h.run(models, ['push', adderFile, '--name', 'adder', '--version', '1.0.0']);
    expect({ code, stderr }).toMatchObject({ code: 0 });
    expect(stdout).toBe('adder-1.0.0\n');
    expect(stderr).toContain('framework: onnx (from the .onnx extension; --framework overrides)');
    expect(stderr).toMatch(/uploaded adder-1\.0\.0: \d+ B/);
    const model = await waitForStatus('adder-1.0.0', ['Validated']);
    expect(model).toMatchObject({ framework: 'onnx', sizeBytes: makeAddModel({ addend: 1 }).length });
  }, 60_000);

  it('refuses a duplicate with the API\'s 409 message, leaving the first upload intact', async () => {
    const { code, stdout, stderr } = await h.run(models, ['push', adderFile, '--name', 'adder', '--version', '1.0.0']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n').at(-1)).toMatch(/^error: 409 .*adder-1\.0\.0.*exists/);
    expect((await getModel('adder-1.0.0')).status).toBe('Validated');
  });

  it('prints the API\'s 400 message for a version that is not semver', async () => {
    const { code, stderr } = await h.run(models, ['push', adderFile, '--name', 'adder', '--version', '1.0']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: 400 .*version/m);
  });

  it('streams a multi-chunk file with a progress bar showing bytes, MB/s and ETA on a terminal', async () => {
    const file = join(h.dir, 'slow.onnx');
    const bytes = makeSlowModel({ addend: 1, size: 512, depth: 2 });
    await writeFile(file, bytes);
    expect(bytes.length).toBeGreaterThan(512 * 1024);
    let t = 0;
    // Each read advances the fake clock 50 ms, so the bar redraws mid-transfer with a rate and an ETA.
    const now = () => (t += 50);
    const stderr = captureStream({ isTTY: true, columns: 100 });
    const { code, stdout } = await h.run(models, ['push', file, '--name', 'slow', '--version', '1.0.0', '--framework', 'onnx'], { stderr, now });
    expect({ code, stderr: stderr.text }).toMatchObject({ code: 0 });
    expect(stdout).toBe('slow-1.0.0\n');
    const frames = stderr.text.split('\r').filter((f) => f.startsWith('upload'));
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.some((f) => /ETA \d+:\d\d/.test(f))).toBe(true);
    const size = `${(bytes.length / 1e6).toFixed(2)} MB`;
    expect(frames.at(-1)).toMatch(new RegExp(`^upload +\\[#+\\] 100% ${size}/${size} \\d+\\.\\d MB/s in \\d+:\\d\\d`));
    expect(stderr.text).toMatch(/\rchecksum +\[#+\] 100%/);
    expect(stderr.text).toMatch(/^uploaded slow-1\.0\.0: 1\.05 MB at \d+\.\d MB\/s, sha256 [0-9a-f]{64}, status Uploaded$/m);
  }, 30_000);

  it('prints nothing of the progress when stderr is not a terminal and the transfer is short', async () => {
    const file = join(h.dir, 'adder2.onnx');
    await writeFile(file, makeAddModel({ addend: 2 }));
    const { code, stderr } = await h.run(models, ['push', file, '--name', 'adder', '--version', '2.0.0']);
    expect(code).toBe(0);
    expect(stderr).not.toContain('\r');
    expect(stderr).not.toContain('MB/s ETA');
  });

  it('names the checksum mismatch when the bytes are altered on the way', async () => {
    const file = join(h.dir, 'adder3.onnx');
    await writeFile(file, makeAddModel({ addend: 3 }));
    const proxy = await startCorruptingProxy(h.controlPlane.url);
    try {
      const { code, stderr } = await h.run(models, ['push', file, '--name', 'adder', '--version', '3.0.0', '--url', proxy.url]);
      expect(code).toBe(1);
      expect(stderr).toMatch(/^error: 400 checksum mismatch: expected SHA-256 [0-9a-f]{64}, the uploaded artifact has [0-9a-f]{64}$/m);
      expect(proxy.corrupted()).toBe(1);
    } finally {
      await proxy.close();
    }
    expect((await h.run(models, ['get', 'adder-3.0.0'])).stderr).toMatch(/^error: 404 /m);
  });

  it('sends the --metadata file and shows its description', async () => {
    const file = join(h.dir, 'adder4.onnx');
    const metadata = join(h.dir, 'meta.json');
    await writeFile(file, makeAddModel({ addend: 4 }));
    await writeFile(metadata, JSON.stringify({ description: 'adds four', requirements: { memoryMb: 64 } }));
    expect((await h.run(models, ['push', file, '--name', 'adder', '--version', '4.0.0', '--metadata', metadata])).code).toBe(0);
    const { stdout } = await h.run(models, ['get', 'adder-4.0.0']);
    expect(stdout).toMatch(/^description: +adds four$/m);
    expect(stdout).toMatch(/^requirements: +memoryMb=64$/m);
    expect(stdout).toMatch(/^inputs: +x float32\[1,4\]$/m);
  });

  it('refuses a --metadata file that is not JSON before sending anything', async () => {
    const metadata = join(h.dir, 'bad.json');
    await writeFile(metadata, '{ description: nope');
    const { code, stderr } = await h.run(models, ['push', adderFile, '--name', 'adder', '--version', '5.0.0', '--metadata', metadata]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: --metadata .*bad\.json is not valid JSON/m);
  });

  it('asks for --framework when the extension says nothing', async () => {
    const file = join(h.dir, 'model.bin');
    await writeFile(file, makeAddModel({ addend: 1 }));
    const { code, stderr } = await h.run(models, ['push', file, '--name', 'adder', '--version', '6.0.0']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: cannot tell the framework of model\.bin from its extension: pass --framework onnx\|tensorflow\|pytorch\|zip$/m);
    expect(stderr).toContain('usage: hotswap models push <file>');
  });

  it('refuses an unknown --framework and a missing --name with the push usage', async () => {
    const framework = await h.run(models, ['push', adderFile, '--name', 'a', '--version', '1.0.0', '--framework', 'keras']);
    expect(framework.code).toBe(2);
    expect(framework.stderr).toMatch(/^error: --framework takes one of onnx, tensorflow, pytorch, zip, got "keras"$/m);
    const name = await h.run(models, ['push', adderFile, '--version', '1.0.0']);
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/^error: --name is required$/m);
    const file = await h.run(models, ['push', '--name', 'a', '--version', '1.0.0']);
    expect(file.stderr).toMatch(/^error: missing <file>$/m);
    const flag = await h.run(models, ['push', adderFile, '--nmae', 'a']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^error: Unknown option '--nmae'/m);
  });

  it('says which file cannot be read', async () => {
    const { code, stderr } = await h.run(models, ['push', join(h.dir, 'missing.onnx'), '--name', 'a', '--version', '1.0.0']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: cannot read .*missing\.onnx: ENOENT$/m);
  });

  it('shows the API\'s 403 message to a Viewer', async () => {
    const { code, stderr } = await h.run(models, ['push', adderFile, '--name', 'adder', '--version', '7.0.0'], {
      env: { ...h.env, HOTSWAP_TOKEN: await h.token(['Viewer']) },
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: 403 /m);
  });

  it('prints the model as JSON with --json', async () => {
    const file = join(h.dir, 'adder8.onnx');
    await writeFile(file, makeAddModel({ addend: 8 }));
    const { code, stdout } = await h.run(models, ['push', file, '--name', 'adder', '--version', '8.0.0', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ id: 'adder-8.0.0', status: 'Uploaded', framework: 'onnx', checksum: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });
});

describe('hotswap models list and get', () => {
  it('lists models as a table, filtered by name and status', async () => {
    const { code, stdout } = await h.run(models, ['list', '--name', 'adder', '--status', 'Validated']);
    expect(code).toBe(0);
    const [header, ...rows] = stdout.trim().split('\n');
    expect(header).toMatch(/^ID +FRAMEWORK +STATUS +SIZE +UPLOADED$/);
    expect(rows.some((r) => /^adder-1\.0\.0 +onnx +Validated +\d+ B +\d+s ago$/.test(r))).toBe(true);
    expect(rows.every((r) => r.startsWith('adder-'))).toBe(true);
  });

  it('prints the API page as JSON and pages with --limit/--offset', async () => {
    const all = JSON.parse((await h.run(models, ['list', '--json'])).stdout) as Page<ModelView>;
    expect(all.total).toBeGreaterThanOrEqual(3);
    const { stdout } = await h.run(models, ['list', '--limit', '1', '--offset', '1']);
    expect(stdout).toContain(`(2-2 of ${all.total}; --offset 2 for more)`);
    const empty = await h.run(models, ['list', '--name', 'nothing-by-this-name']);
    expect(empty.stdout).toBe('no models\n');
  });

  it('passes the API\'s message on for a bad filter and refuses a bad --limit itself', async () => {
    const status = await h.run(models, ['list', '--status', 'Sleeping']);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/^error: 400 .*status/m);
    const limit = await h.run(models, ['list', '--limit', 'ten']);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toMatch(/^error: --limit takes an integer >= 1, got "ten"$/m);
  });

  it('shows one model and names an unknown one', async () => {
    const { stdout } = await h.run(models, ['get', 'adder-1.0.0']);
    expect(stdout).toMatch(/^status: +Validated$/m);
    expect(stdout).toMatch(/^sha256: +[0-9a-f]{64}$/m);
    const unknown = await h.run(models, ['get', 'nope-1.0.0']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: 404 .*nope-1\.0\.0/m);
  });
});

describe('hotswap models validate and report', () => {
  it('reports every check with its threshold, actual value and verdict', async () => {
    const { code, stdout } = await h.run(models, ['report', 'adder-1.0.0']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^status: +Passed$/m);
    expect(stdout).toMatch(/^latency: +p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms$/m);
    expect(stdout).toMatch(/^CHECK +THRESHOLD +ACTUAL +RESULT$/m);
    expect(stdout).toMatch(/^latencyP99Ms +100 +[\d.]+ +pass$/m);
    expect(stdout).toMatch(/^checksum +[0-9a-f]{12}… +[0-9a-f]{12}… +pass$/m);
    const json = JSON.parse((await h.run(models, ['report', 'adder-1.0.0', '--json'])).stdout) as ValidationReportView;
    expect(json).toMatchObject({ modelId: 'adder-1.0.0', status: 'Passed' });
  });

  it('re-validates with a stricter threshold, waits for the verdict and exits 1 naming the failed check', async () => {
    const { code, stdout, stderr } = await h.run(models, ['validate', 'adder-1.0.0', '--threshold', 'latencyP99Ms=0.000001', '--wait', '--timeout', '30']);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^status: +Failed$/m);
    expect(stdout).toMatch(/^latencyP99Ms +0 +[\d.]+ +FAIL$/m);
    expect(stderr).toMatch(/^error: adder-1\.0\.0 failed validation: latencyP99Ms$/m);
    expect((await getModel('adder-1.0.0')).status).toBe('Rejected');
  }, 60_000);

  it('starts a validation and says where the report is', async () => {
    await waitForStatus('adder-2.0.0', ['Validated']);
    const { code, stdout } = await h.run(models, ['validate', 'adder-2.0.0', '--threshold', 'maxMemoryMb=4096']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^validation val-\S+ of adder-2\.0\.0 started \(Validating\); see: hotswap models report adder-2\.0\.0$/m);
    await waitForStatus('adder-2.0.0', ['Validated']);
  }, 60_000);

  it('passes the API\'s message on for an unknown threshold and refuses a non-number itself', async () => {
    const unknown = await h.run(models, ['validate', 'adder-2.0.0', '--threshold', 'speed=3']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: 400 .*speed/m);
    const notNumber = await h.run(models, ['validate', 'adder-2.0.0', '--threshold', 'latencyP99Ms=fast']);
    expect(notNumber.code).toBe(2);
    expect(notNumber.stderr).toMatch(/^error: --threshold takes <key>=<number>, got "latencyP99Ms=fast"$/m);
  });

  it('names an unknown model', async () => {
    const { code, stderr } = await h.run(models, ['validate', 'ghost-1.0.0']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: 404 .*ghost-1\.0\.0/m);
  });
});

describe('hotswap models, the command line itself', () => {
  it('says how to start HotSwap when nothing listens at the URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    for (const args of [['list'], ['push', adderFile, '--name', 'a', '--version', '1.0.0']]) {
      const { code, stderr } = await h.run(models, [...args, '--url', url]);
      expect(code).toBe(1);
      expect(stderr.trim().split('\n').at(-1)).toBe(`error: cannot reach HotSwap at ${url}: is it running? (npm start)`);
    }
  });

  it('refuses a URL that is not http(s)', async () => {
    const { code, stderr } = await h.run(models, ['list', '--url', 'ftp://example.com']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: the HotSwap URL must be http\(s\):\/\/host\[:port\], got "ftp:\/\/example\.com"$/m);
  });

  it('mints an Admin dev token from the local JWT key when no token is set, and says so', async () => {
    const dataDir = join(h.dir, 'dot-hotswap');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dataDir, 'keys'), { recursive: true });
    await writeFile(join(dataDir, 'keys', 'jwt-secret'), h.jwtSecret);
    const env = { HOTSWAP_URL: h.env['HOTSWAP_URL'], HOTSWAP_DATA_DIR: dataDir };
    const { code, stderr } = await h.run(models, ['list'], { env });
    expect(code).toBe(0);
    expect(stderr).toBe(`no HOTSWAP_TOKEN set: using an Admin dev token signed with ${join(dataDir, 'keys', 'jwt-secret')}\n`);
  });

  it('without any token, shows the 401 with how to get one', async () => {
    const env = { HOTSWAP_URL: h.env['HOTSWAP_URL'], HOTSWAP_DATA_DIR: join(h.dir, 'no-keys-here') };
    const { code, stderr } = await h.run(models, ['list'], { env });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: 401 .*\(set HOTSWAP_TOKEN, e\.g\. HOTSWAP_TOKEN=\$\(npx hotswap token --role Admin\)\)$/m);
  });

  it('prints the group usage for a missing or unknown command, and --help on stdout', async () => {
    const none = await h.run(models, []);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error: hotswap models needs a command$/m);
    expect(none.stderr).toMatch(/^ {2}push +upload a model file/m);
    const unknown = await h.run(models, ['pull']);
    expect(unknown.stderr).toMatch(/^error: unknown command "models pull"$/m);
    const help = await h.run(models, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: hotswap models <command>');
    const pushHelp = await h.run(models, ['push', '--help']);
    expect(pushHelp.code).toBe(0);
    expect(pushHelp.stdout).toContain('--framework defaults from the extension');
  });
});
