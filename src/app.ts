import 'reflect-metadata';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import type { INestApplication, LogLevel } from '@nestjs/common';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import type { LookasideConfig } from './config/config.js';
import { AppModule } from './app.module.js';

const here = dirname(fileURLToPath(import.meta.url));
/** protos/ beside src/ (development) or beside dist/ (built image). */
export const PROTO_DIR = join(here, '..', 'protos');

export const PROTO_FILES = [
  'grpc/lb/v1/load_balancer.proto',
  'lookaside/v1/reports.proto',
  'lookaside/v1/assignments.proto',
  'lookaside/v1/registry.proto',
];

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

/** Starts one replica: the gRPC APIs on config.grpcAddress, admin HTTP on config.httpPort. */
export async function startLookaside(config: LookasideConfig, logger: LogLevel[] | false = ['log', 'warn', 'error']): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(config), { logger, abortOnError: false });
  app.connectMicroservice<MicroserviceOptions>(
    {
      transport: Transport.GRPC,
      options: {
        package: ['grpc.lb.v1', 'lookaside.v1'],
        protoPath: PROTO_FILES,
        url: config.grpcAddress,
        loader: protoLoaderOptions(),
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
