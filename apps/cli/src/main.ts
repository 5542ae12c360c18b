import 'reflect-metadata';
import type { CliIo } from './commands/support/cli.js';
import { UsageError } from './commands/support/usage-error.js';

const USAGE = `usage: hotswap <command>
  dev                                   run the whole system embedded (what npm start runs)
  token --role <Role> [--sub <name>]    print a JWT the running stack accepts
  sample-model --addend <n> --out <f>   write a tiny ONNX model computing y = x + n
  models push|list|get|validate|report  upload, list and validate models (hotswap models --help)
  devices list|get                      the fleet (hotswap devices --help)
  rollout create|list|status|watch|pause|resume|approve|cancel|rollback|promote
                                        distributions (hotswap rollout --help)
  fleet simulate --devices <n>          run many simulated devices in one process (hotswap fleet simulate --help)
API commands read HOTSWAP_URL (default http://127.0.0.1:8080) and HOTSWAP_TOKEN.`;

const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env };

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...args] = argv;
  // Each command loads only what it needs: the API commands start fast, without the control plane.
  switch (command) {
    case 'dev':
      return (await import('./commands/dev.js')).dev();
    case 'token':
      console.log(await (await import('./commands/token.js')).token(args));
      return;
    case 'sample-model':
      console.log(`wrote ${(await import('./commands/sample-model.js')).sampleModel(args)}`);
      return;
    case 'models':
      process.exitCode = await (await import('./commands/models.js')).models(args, io);
      return;
    case 'devices':
      process.exitCode = await (await import('./commands/devices.js')).devices(args, io);
      return;
    case 'rollout':
      process.exitCode = await (await import('./commands/rollout.js')).rollout(args, io);
      return;
    case 'fleet':
      process.exitCode = await (await import('./commands/fleet.js')).fleet(args, io);
      return;
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      throw new UsageError(command ? `unknown command ${command}` : 'a command is required');
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) console.error(`${error.message}\n\n${USAGE}`);
  else console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
