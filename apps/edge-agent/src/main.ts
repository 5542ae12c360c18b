/**
 * Runs one edge agent from environment variables (see `config/agent-config.ts`); stops cleanly on
 * SIGINT/SIGTERM. A bad configuration exits with status 2 and one line per problem.
 */
import { ConfigError, describeConfig, startTracing } from '@hotswap/infrastructure';
import { EdgeAgent, InvalidAgentOptionsError } from './agent/edge-agent.js';
import { jsonLogger } from './agent/logger.js';
import { agentOptionsFromConfig, edgeAgentConfigSchema, loadEdgeAgentConfig } from './config/agent-config.js';

async function main(): Promise<void> {
  let agent: EdgeAgent;
  // device.update / model.swap spans, exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
  const tracing = startTracing({ serviceName: 'edge-agent' });
  try {
    const config = loadEdgeAgentConfig();
    agent = new EdgeAgent(agentOptionsFromConfig(config, jsonLogger({ deviceId: config.deviceId }, config.logLevel)));
  } catch (err) {
    if (err instanceof ConfigError || err instanceof InvalidAgentOptionsError) {
      process.stderr.write(`edge-agent: ${err.message}\n\nEnvironment variables:\n${describeConfig(edgeAgentConfigSchema)}\n`);
      process.exit(2);
    }
    throw err;
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`edge-agent: ${signal} received, stopping\n`);
    agent.stop().then(() => tracing.shutdown()).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`edge-agent: stop failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  await agent.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`edge-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
