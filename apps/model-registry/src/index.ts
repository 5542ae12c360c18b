export { ModelRegistryModule } from './model-registry.module.js';
export { inspectOnnx, inspectArtifact, InvalidArtifactError } from './inspection/artifact-inspector.js';
