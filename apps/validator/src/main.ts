import 'reflect-metadata';
import { runServiceModule } from '@hotswap/infrastructure';
import { ValidatorModule } from './validator.module.js';

// The validator as its own process (docker-compose); npm start hosts it in the embedded default.
runServiceModule('validator', (runtime) => ValidatorModule.register(runtime));
