import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { runUntilSignalled, serviceRuntimeFromEnv } from '@hotswap/infrastructure';
import { ModelRegistryModule } from './model-registry.module.js';

// The model-registry as its own process (docker-compose); npm start hosts it in the embedded default.
runUntilSignalled(async () => {
  const { runtime, close } = await serviceRuntimeFromEnv('model-registry');
  const app = await NestFactory.createApplicationContext(ModelRegistryModule.register(runtime));
  await app.init();
  runtime.logger.info('started');
  return async () => {
    await app.close();
    await close();
  };
});
