import { Module, type DynamicModule } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@hotswap/infrastructure';
import { ModelUploadedListener } from './model-uploaded/model-uploaded.listener.js';

@Module({})
export class ValidatorModule {
  static register(runtime: ServiceRuntime): DynamicModule {
    return { module: ValidatorModule, providers: [{ provide: SERVICE_RUNTIME, useValue: runtime }, ModelUploadedListener], exports: [ModelUploadedListener] };
  }
}
