import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { runUntilSignalled, serviceRuntimeFromEnv } from '@hotswap/infrastructure';
import { MonitorModule } from './monitor.module.js';

// The monitor as its own process (docker-compose); npm start hosts it in the embedded default.
runUntilSignalled(async () => {
  const { runtime, close } = await serviceRuntimeFromEnv('monitor');
  const app = await NestFactory.createApplicationContext(MonitorModule.register(runtime));
  await app.init();
  runtime.logger.info('started');
  return async () => {
    await app.close();
    await close();
  };
});
