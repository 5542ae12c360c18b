import { resolve } from 'node:path';
import { ROLES, type Role } from '@hotswap/contracts';
import { issueDevToken } from '@hotswap/gateway';
import { defaultDataDir, loadLocalSecrets } from '../embedded/local-secrets.js';
import { UsageError } from './support/usage-error.js';

export { UsageError } from './support/usage-error.js';

/** `hotswap token --role <Role> [--role <Role>] [--sub <subject>] [--ttl <seconds>]` */
export async function token(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const roles: Role[] = [];
  let subject = 'dev-user';
  let ttlSeconds = 12 * 3600;
  for (let i = 0; i < args.length; i++) {
    const value = args[i + 1];
    switch (args[i]) {
      case '--role':
        if (!value || !ROLES.includes(value as Role)) throw new UsageError(`--role takes one of ${ROLES.join(', ')}`);
        roles.push(value as Role);
        i++;
        break;
      case '--sub':
        if (!value) throw new UsageError('--sub takes a subject');
        subject = value;
        i++;
        break;
      case '--ttl':
        if (!value || !/^\d+$/.test(value)) throw new UsageError('--ttl takes a number of seconds');
        ttlSeconds = Number(value);
        i++;
        break;
      default:
        throw new UsageError(`unknown option ${args[i]}`);
    }
  }
  if (roles.length === 0) throw new UsageError(`--role is required (${ROLES.join(', ')})`);
  const { jwtSecret } = await loadLocalSecrets(resolve(defaultDataDir(env)), env);
  return issueDevToken({ secret: jwtSecret, subject, roles, ttlSeconds });
}
