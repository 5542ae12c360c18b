import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { runUntilSignalled, serviceRuntimeFromEnv } from '@hotswap/infrastructure';
import { ValidatorModule } from './validator.module.js';

// The validator as its own process (docker-compose); npm start hosts it in the embedded default.
runUntilSignalled(async () => {
  const { runtime, close } = await serviceRuntimeFromEnv('validator');
  const app = await NestFactory.createApplicationContext(ValidatorModule.register(runtime));
  await app.init();
  runtime.logger.info('started');
  return async () => {
    await app.close();
    await close();
  };
});
