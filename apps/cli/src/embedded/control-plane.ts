import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { DynamicModule, INestApplication, INestApplicationContext } from '@nestjs/common';
import { connect, credsAuthenticator, type NatsConnection, type TlsOptions } from '@nats-io/transport-node';
import { Services } from '@hotswap/contracts';
import {
  consoleLogger, drainOrClose, JetStreamEventStore, MessageBus, mintServiceCredentials, natsConnectionCount, observeHttpConnections, otelBusOptions, startMetrics,
  type ArtifactStore, type Clock, type NatsTrust, type ServiceMetrics, type ServiceRuntime, type SqlDatabase,
} from '@hotswap/infrastructure';
import { DeviceRegistryModule, type DeviceRegistryOptions } from '@hotswap/device-registry';
import { DistributorModule, type DistributorOptions } from '@hotswap/distributor';
import { createGatewayApp, type RateLimitOptions } from '@hotswap/gateway';
import { ModelRegistryModule } from '@hotswap/model-registry';
import { MonitorModule, type MonitorOptions } from '@hotswap/monitor';
import { ValidatorModule, type ValidatorOptions } from '@hotswap/validator';

export interface ControlPlaneSecrets {
  /** HS256 key of user JWTs. */
  readonly jwtSecret: string;
  /** HMAC key of signed artifact download URLs. */
  readonly urlSigningSecret: string;
  /** Ed25519 private key (PEM) signing release manifests. */
  readonly manifestPrivateKeyPem: string;
  /** Signs the NATS credentials of devices registered through the API. */
  readonly natsTrust?: NatsTrust;
  /** SHA-256 (hex) of the accepted device registration API keys. */
  readonly registrationApiKeySha256?: readonly string[];
}

export interface ControlPlaneOptions {
  readonly natsUrl: string;
  readonly db: SqlDatabase;
  readonly artifacts: ArtifactStore;
  readonly secrets: ControlPlaneSecrets;
  /** Where the gateway listens; port 0 picks a free one. */
  readonly http: { readonly host: string; readonly port: number };
  readonly clock?: Clock;
  /** Only warnings and errors are logged. */
  readonly quiet?: boolean;
  readonly maxUploadBytes?: number;
  readonly deviceRegistry?: Partial<DeviceRegistryOptions>;
  /**
   * The nats-server runs in operator mode and trusts `secrets.natsTrust`: each service connects
   * with its own credentials. Without it, connections are anonymous.
   */
  readonly natsAuth?: boolean;
  /** TLS of every service's NATS connection (`natsTlsFromEnv()`); none by default, as the embedded nats-server is plain. */
  readonly natsTls?: TlsOptions;
  /** Per-user rate limits of the gateway (shared through NATS KV); none when omitted. */
  readonly rateLimits?: RateLimitOptions;
  /** How rollouts run (tick, execution defaults, approval tags: `rolloutOptionsFromEnv()`); the URLs and keys come from here. */
  readonly distributor?: Partial<Omit<DistributorOptions, 'artifactBaseUrl' | 'urlSigningSecret' | 'manifestPrivateKeyPem'>>;
  /** Detection and alerting (`monitorOptionsFromEnv()`). */
  readonly monitor?: Partial<MonitorOptions>;
  /** Validator options (e.g. `onDevice`, `staleRunMs`); it signs device requests with `secrets` and the gateway's URL. */
  readonly validator?: Omit<ValidatorOptions, 'device'>;
  /**
   * The metrics handle every hosted service records into, served at the gateway's `/metrics`.
   * Default: one of the control plane's own, shut down by `close()`. (Tracing is the process's:
   * the composition root calls `startTracing` once; without it spans are no-ops.)
   */
  readonly metrics?: ServiceMetrics;
}

export interface ControlPlane {
  /** The gateway's base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly gateway: INestApplication;
  readonly services: ReadonlyMap<string, INestApplicationContext>;
  /** Shared by every hosted service; the gateway serves it at `/metrics`. */
  readonly metrics: ServiceMetrics;
  close(): Promise<void>;
}

const SERVICE_NAMES = [Services.modelRegistry, Services.deviceRegistry, Services.distributor, Services.validator, Services.monitor];

/**
 * Starts every service of the control plane in this process. Each service still has its own NATS
 * connection and talks to the others only over NATS, exactly as when it runs alone.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const clock = options.clock ?? (() => new Date());
  const connections: NatsConnection[] = [];
  const contexts: Array<INestApplicationContext> = [];
  const services = new Map<string, INestApplicationContext>();
  const metrics = options.metrics ?? startMetrics({ serviceName: 'hotswap', logger: consoleLogger('metrics', options.quiet) });

  const runtimeFor = async (service: string): Promise<ServiceRuntime> => {
    const trust = options.natsAuth ? options.secrets.natsTrust : undefined;
    if (options.natsAuth && !trust) throw new Error('natsAuth needs secrets.natsTrust');
    const authenticator = trust
      ? credsAuthenticator(new TextEncoder().encode((await mintServiceCredentials(trust, service)).creds))
      : undefined;
    const nats = await connect({
      servers: options.natsUrl, name: `hotswap-${service}`, maxReconnectAttempts: -1, reconnectTimeWait: 500,
      noAsyncTraces: true, // no stack trace built per request (see serviceRuntimeFromEnv)
      ...(authenticator ? { authenticator } : {}),
      ...(options.natsTls ? { tls: options.natsTls } : {}),
    });
    connections.push(nats);
    metrics.observeConnections('nats', natsConnectionCount(nats));
    const logger = consoleLogger(service, options.quiet);
    return {
      nats,
      bus: new MessageBus(nats, { ...otelBusOptions, logger }),
      eventStore: await JetStreamEventStore.fromConnection(nats),
      db: options.db,
      artifacts: options.artifacts,
      clock,
      logger,
      metrics,
    };
  };
  const boot = async (name: string, module: DynamicModule) => {
    const context = await NestFactory.createApplicationContext(module, { logger: options.quiet ? ['error', 'warn'] : ['error', 'warn', 'log'] });
    await context.init();
    contexts.push(context);
    services.set(name, context);
  };

  const close = async () => {
    for (const context of contexts.reverse()) await context.close().catch(() => undefined);
    await Promise.all(connections.map((nc) => drainOrClose(nc)));
    if (options.metrics === undefined) await metrics.shutdown();
  };

  try {
    const gatewayRuntime = await runtimeFor('gateway');
    const gateway = await createGatewayApp({
      bus: gatewayRuntime.bus,
      metrics,
      artifacts: options.artifacts,
      jwtSecret: options.secrets.jwtSecret,
      urlSigningSecret: options.secrets.urlSigningSecret,
      maxUploadBytes: options.maxUploadBytes ?? 4 * 1024 ** 3,
      clock,
      serviceNames: SERVICE_NAMES,
      ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
      ...(options.secrets.registrationApiKeySha256 ? { registrationApiKeySha256: options.secrets.registrationApiKeySha256 } : {}),
    }, options.http);
    contexts.push(gateway);
    observeHttpConnections(metrics, gateway.getHttpServer());
    const address = gateway.getHttpServer().address() as { port: number };
    const url = `http://${options.http.host}:${address.port}`;

    await boot(Services.modelRegistry, ModelRegistryModule.register(await runtimeFor(Services.modelRegistry)));
    await boot(Services.deviceRegistry, DeviceRegistryModule.register(await runtimeFor(Services.deviceRegistry), {
      ...options.deviceRegistry,
      ...(options.secrets.natsTrust ? { natsTrust: options.secrets.natsTrust } : {}),
      metrics,
    }));
    await boot(Services.distributor, DistributorModule.register(await runtimeFor(Services.distributor), {
      ...options.distributor,
      artifactBaseUrl: url,
      urlSigningSecret: options.secrets.urlSigningSecret,
      manifestPrivateKeyPem: options.secrets.manifestPrivateKeyPem,
    }));
    await boot(Services.validator, ValidatorModule.register(await runtimeFor(Services.validator), {
      ...options.validator,
      device: { artifactBaseUrl: url, urlSigningSecret: options.secrets.urlSigningSecret, manifestPrivateKeyPem: options.secrets.manifestPrivateKeyPem },
    }));
    await boot(Services.monitor, MonitorModule.register(await runtimeFor(Services.monitor), options.monitor));
    return { url, gateway, services, metrics, close };
  } catch (error) {
    await close();
    throw error;
  }
}
