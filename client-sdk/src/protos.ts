// Loads the lookaside.v1 protos at run time with @grpc/proto-loader, using the same loader
// options as the service (protos/loader-options.json). The types in ./generated come from the
// same protos and options (`npm run gen:protos` at the workspace root).
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType as AssignmentsProto } from './generated/assignments.js';
import type { ProtoGrpcType as ReportsProto } from './generated/reports.js';

const MARKER = join('lookaside', 'v1', 'assignments.proto');

/**
 * The protos folder: the copy packed with the package (client-sdk/protos, made by `prepack`)
 * first, then the workspace's own ../protos. Works from src/ (tests) and dist/ (built).
 */
export function protoDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '..', 'protos'), join(here, '..', '..', 'protos')];
  for (const dir of candidates) {
    if (existsSync(join(dir, MARKER))) return dir;
  }
  throw new Error(`lookaside: protos not found; looked in ${candidates.join(', ')}`);
}

/**
 * loader-options.json as proto-loader options. JSON cannot hold the String/Number
 * constructors proto-loader compares `enums` and `longs` with, so the file names them
 * ("String", "Number", as the type generator's flags do) and they are mapped back here;
 * passed as text, proto-loader would ignore them and decode enums as numbers and 64-bit
 * integers as Long objects, unlike the generated types.
 */
export function loaderOptions(json: Record<string, unknown>): Options {
  const ctor = (v: unknown) => (v === 'String' ? String : v === 'Number' ? Number : v);
  return { ...json, enums: ctor(json.enums), longs: ctor(json.longs) } as Options;
}

let cached: { assignments: AssignmentsProto; reports: ReportsProto } | null = null;

/** The loaded lookaside.v1 services, loaded once per process. */
export function lookasideProtos(): { assignments: AssignmentsProto; reports: ReportsProto } {
  if (cached) return cached;
  const dir = protoDir();
  const options = loaderOptions(JSON.parse(readFileSync(join(dir, 'loader-options.json'), 'utf8')) as Record<string, unknown>);
  const load = (file: string) =>
    loadPackageDefinition(loadSync(file, { ...options, includeDirs: [dir] })) as unknown;
  cached = {
    assignments: load('lookaside/v1/assignments.proto') as AssignmentsProto,
    reports: load('lookaside/v1/reports.proto') as ReportsProto,
  };
  return cached;
}
