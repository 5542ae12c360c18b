import 'reflect-metadata';
import { ConfigError } from '@hotswap/infrastructure';
import { dev } from './commands/dev.js';
import { sampleModel } from './commands/sample-model.js';
import { token, UsageError } from './commands/token.js';

const USAGE = `usage: hotswap <command>
  dev                                   run the whole system embedded (what npm start runs)
  token --role <Role> [--sub <name>]    print a JWT the running stack accepts
  sample-model --addend <n> --out <f>   write a tiny ONNX model computing y = x + n`;

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...args] = argv;
  switch (command) {
    case 'dev':
      return dev();
    case 'token':
      console.log(await token(args));
      return;
    case 'sample-model':
      console.log(`wrote ${sampleModel(args)}`);
      return;
    default:
      throw new UsageError(command ? `unknown command ${command}` : 'a command is required');
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) console.error(`${error.message}\n\n${USAGE}`);
  else if (error instanceof ConfigError) console.error(error.message);
  else console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
