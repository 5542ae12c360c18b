export { EdgeAgent, InvalidAgentOptionsError, type InferOptions, type InferenceResult, type TensorInferenceResult } from './agent/edge-agent.js';
export { SessionCache, type SessionLease } from './swap/session-cache.js';
export { SyntheticLoad, type SyntheticLoadOptions } from './simulator/synthetic-load.js';
export { LABEL_TOLERANCE, matchesLabel, type Label } from './telemetry/label.js';
export type { Feeds, InputSpec, TensorData } from './swap/tensors.js';
export { EDGE_AGENT_DEFAULTS, type EdgeAgentOptions, type NatsPassthroughOptions } from './agent/edge-agent-options.js';
export { InferenceError, NoModelLoadedError, SwapFailedError } from './agent/errors.js';
export { credentialsLifetime, type CredentialsLifetime } from './agent/device-credentials.js';
export { jsonLogger, silentLogger, type AgentLogger, type LogLevel } from './agent/logger.js';
export { agentOptionsFromConfig, edgeAgentConfigSchema, loadEdgeAgentConfig, type EdgeAgentConfig } from './config/agent-config.js';
export {
  DEFAULT_DEVICE_TYPES,
  DEFAULT_REGIONS,
  defaultFleetSpecs,
  FleetSimulator,
  UnknownSimulatedDeviceError,
  type FleetOptions,
  type SharedAgentOptions,
  type SimulatedDeviceSpec,
} from './simulator/fleet-simulator.js';
