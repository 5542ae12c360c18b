export { ValidatorModule } from './validator.module.js';
export { ModelUploadedListener } from './model-uploaded/model-uploaded.listener.js';
