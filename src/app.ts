import 'reflect-metadata';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Server as TlsServer } from 'node:tls';
import { NestFactory } from '@nestjs/core';
import { ConsoleLogger, Logger, type INestApplication, type LoggerService, type LogLevel } from '@nestjs/common';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import type { LogSettings, LookasideConfig } from './config/config.js';
import { AppModule } from './app.module.js';
import { MetricsService } from './common/metrics.service.js';
import { CertificateSource } from './security/certificates.js';
import { PROTO_DIR } from './common/proto-dir.js';
import { acceptEncoded } from './common/encoded.js';

export { PROTO_DIR };

export const PROTO_FILES = [
  'grpc/lb/v1/load_balancer.proto',
  'lookaside/v1/reports.proto',
  'lookaside/v1/assignments.proto',
  'lookaside/v1/registry.proto',
  'grpc/health/v1/health.proto',
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/load_stats/v3/lrs.proto',
];

/** Nest's levels for each LOOKASIDE_LOG_LEVEL: each includes the ones above it. */
const LEVELS: Record<LogSettings['level'], LogLevel[]> = {
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/** The logger LOOKASIDE_LOG_FORMAT and LOOKASIDE_LOG_LEVEL ask for: one JSON object per line by default. */
export function createLogger(settings: LogSettings): LoggerService {
  return new ConsoleLogger({ json: settings.format === 'json', logLevels: LEVELS[settings.level], colors: false });
}

const TYPES: Record<string, unknown> = { String, Number };

/**
 * protos/loader-options.json as @grpc/proto-loader wants it: "String" and "Number" become
 * the constructors, which is how the loader is told to hand over enums and 64-bit ints.
 */
export function protoLoaderOptions(): Record<string, unknown> {
  const raw = JSON.parse(readFileSync(join(PROTO_DIR, 'loader-options.json'), 'utf8')) as Record<string, unknown>;
  const options = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === 'string' ? (TYPES[v] ?? v) : v]));
  return { ...options, includeDirs: [PROTO_DIR] };
}

/**
 * Starts one replica: the gRPC APIs on config.grpcAddress, admin HTTP on config.httpPort, both
 * over TLS when certificates are configured (reloaded from their files without a restart).
 */
export async function startLookaside(config: LookasideConfig, logger: LoggerService | LogLevel[] | false = createLogger(config.log)): Promise<INestApplication> {
  // The metrics live in the app, which needs the certificates first: count reloads once it exists.
  let metrics: MetricsService | undefined;
  const log = new Logger('Certificates');
  const certificates = config.tls
    ? CertificateSource.load(config.tls, config.fileReloadIntervalMs, {
        reloaded(fingerprint) {
          metrics?.fileReloads.inc({ file: 'certificates', result: 'ok' });
          log.log(`certificate reloaded: sha256 ${fingerprint}`);
        },
        failed(error) {
          metrics?.fileReloads.inc({ file: 'certificates', result: 'error' });
          log.error(`${error.message}; serving the previous certificate`);
        },
      })
    : undefined;
  const httpsOptions = certificates && config.tls!.admin ? certificates.httpsOptions() : undefined;
  let app: INestApplication;
  try {
    app = await NestFactory.create(AppModule.forRoot(config), { logger, abortOnError: false, httpsOptions });
  } catch (error) {
    certificates?.close();
    throw error;
  }
  metrics = app.get(MetricsService);
  if (certificates) {
    if (httpsOptions) certificates.attach(app.getHttpServer() as TlsServer);
    app.getHttpServer().once('close', () => certificates.close());
  }
  app.connectMicroservice<MicroserviceOptions>(
    {
      transport: Transport.GRPC,
      options: {
        package: ['grpc.lb.v1', 'lookaside.v1', 'grpc.health.v1', 'envoy.service.discovery.v3', 'envoy.service.load_stats.v3'],
        protoPath: PROTO_FILES,
        url: config.grpcAddress,
        loader: protoLoaderOptions(),
        // Assignments go to many streams at once: they are encoded once (see Encoded, Spliced).
        onLoadPackageDefinition: (definition) =>
          acceptEncoded(definition, [
            'grpc.lb.v1.LoadBalancer/BalanceLoad',
            'lookaside.v1.Assignments/Watch',
            'envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
          ]),
        credentials: certificates?.grpcCredentials(),
        channelOptions: { 'grpc.max_concurrent_streams': config.limits.maxStreamsPerConnection },
        maxReceiveMessageLength: config.limits.maxMessageBytes,
        maxMetadataSize: 16 * 1024,
        keepalive: { keepaliveTimeMs: 30_000, keepaliveTimeoutMs: 10_000, keepalivePermitWithoutCalls: 1 },
      },
    },
    { inheritAppConfig: true },
  );
  await app.startAllMicroservices();
  await app.listen(config.httpPort, config.httpHost);
  return app;
}
