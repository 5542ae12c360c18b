export { EdgeAgent, InvalidAgentOptionsError, type InferenceResult } from './agent/edge-agent.js';
export { EDGE_AGENT_DEFAULTS, type EdgeAgentOptions, type NatsPassthroughOptions } from './agent/edge-agent-options.js';
export { InferenceError, NoModelLoadedError, SwapFailedError } from './agent/errors.js';
export { jsonLogger, silentLogger, type AgentLogger, type LogLevel } from './agent/logger.js';
export { agentOptionsFromConfig, edgeAgentConfigSchema, loadEdgeAgentConfig, type EdgeAgentConfig } from './config/agent-config.js';
export {
  DEFAULT_DEVICE_TYPES,
  DEFAULT_REGIONS,
  defaultFleetSpecs,
  FleetSimulator,
  UnknownSimulatedDeviceError,
  type SharedAgentOptions,
  type SimulatedDeviceSpec,
} from './simulator/fleet-simulator.js';
