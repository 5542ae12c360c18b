import 'reflect-metadata';
import type { INestApplication, LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { refuseDeepJson } from './errors/json-depth.js';
import { GatewayModule } from './gateway.module.js';
import { failIncompleteBodies } from './models/upload-model/incomplete-body.js';
import type { GatewayDeps } from './gateway-deps.js';

/** Largest JSON request body; a distribution may list up to 10 000 target devices. */
export const MAX_JSON_BODY = '2mb';

export interface GatewayListenOptions {
  /** TCP port; 0 picks a free one (read it back from `app.getHttpServer().address()`). */
  readonly port: number;
  /** Interface to bind, e.g. `127.0.0.1`. */
  readonly host: string;
  /** Serve HTTPS with this PEM certificate (chain) and private key; plain HTTP when absent. */
  readonly https?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Nest logger; errors and warnings to the console by default. */
  readonly logger?: LoggerService | LogLevel[] | false;
}

/**
 * Creates the gateway application and starts listening. Validation, the error format and auth are
 * part of `GatewayModule`, so the app needs nothing else. Signals are the caller's business: close
 * it with `app.close()`.
 */
export async function createGatewayApp(deps: GatewayDeps, options: GatewayListenOptions): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.register(deps), {
    logger: options.logger ?? ['error', 'warn'],
    ...(options.https === undefined ? {} : { httpsOptions: { cert: options.https.cert, key: options.https.key } }),
  });
  app.useBodyParser('json', { limit: MAX_JSON_BODY, verify: refuseDeepJson });
  app.disable('x-powered-by');
  failIncompleteBodies(app.getHttpServer());
  await app.listen(options.port, options.host);
  return app;
}
