import { isIPv4, isIPv6 } from 'node:net';
import type { Limits } from '../config/config.js';
import type { Load__Output } from '../generated/lookaside/v1/Load.js';
import type { ServingState__Output } from '../generated/lookaside/v1/ServingState.js';
import { FieldError } from '../common/grpc-errors.js';
import type { BackendState, LoadSample } from '../store/types.js';

/** Service names: letters, digits, '.', '_', '-', '/'; they start and end with a letter or digit. */
const SERVICE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?$/;
const ZONE = /^[A-Za-z0-9._/-]*$/;
const LABEL_KEY = /^[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?$/;
const METRIC_NAME = /^[A-Za-z0-9._/:-]+$/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

export function checkServiceName(field: string, name: string | undefined, limits: Limits): string {
  if (!name) throw new FieldError(field, 'is required');
  if (bytes(name) > limits.maxServiceNameBytes) throw new FieldError(field, `is over ${limits.maxServiceNameBytes} bytes`);
  if (!SERVICE_NAME.test(name)) {
    throw new FieldError(field, "may hold only letters, digits, '.', '_', '-' and '/', starting and ending with a letter or digit");
  }
  return name;
}

export function checkHost(field: string, host: string | undefined, limits: Limits): string {
  if (!host) throw new FieldError(field, 'is required');
  if (bytes(host) > limits.maxHostBytes) throw new FieldError(field, `is over ${limits.maxHostBytes} bytes`);
  // grpclb carries addresses as packed IP bytes, so hosts must be IP literals.
  if (!isIPv4(host) && !(isIPv6(host) && !host.includes('%'))) {
    throw new FieldError(field, `must be an IPv4 or IPv6 literal, got "${host.slice(0, 64)}"`);
  }
  return host;
}

export function checkPort(field: string, port: number | undefined): number {
  if (!Number.isInteger(port) || port! < 1 || port! > 65535) throw new FieldError(field, 'must be from 1 to 65535');
  return port!;
}

export function checkZone(field: string, zone: string | undefined, limits: Limits): string {
  const value = zone ?? '';
  if (bytes(value) > limits.maxZoneBytes) throw new FieldError(field, `is over ${limits.maxZoneBytes} bytes`);
  if (!ZONE.test(value)) throw new FieldError(field, "may hold only letters, digits, '.', '_', '-' and '/'");
  return value;
}

export function checkLabels(field: string, labels: Record<string, string> | undefined, limits: Limits): Record<string, string> {
  const entries = Object.entries(labels ?? {});
  if (entries.length > limits.maxLabels) throw new FieldError(field, `has ${entries.length} entries, at most ${limits.maxLabels}`);
  const out: Record<string, string> = {};
  for (const [key, value] of entries.sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (bytes(key) > limits.maxLabelKeyBytes || !LABEL_KEY.test(key)) {
      throw new FieldError(`${field}["${key.slice(0, 64)}"]`, `keys are 1 to ${limits.maxLabelKeyBytes} bytes of letters, digits, '.', '_', '-', '/'`);
    }
    if (bytes(value) > limits.maxLabelValueBytes) throw new FieldError(`${field}["${key}"]`, `is over ${limits.maxLabelValueBytes} bytes`);
    if (CONTROL_CHARS.test(value)) throw new FieldError(`${field}["${key}"]`, 'has control characters');
    out[key] = value;
  }
  return out;
}

export function checkState(field: string, state: ServingState__Output | undefined): BackendState {
  switch (state) {
    case undefined:
    case 'SERVING_STATE_UNSPECIFIED':
    case 'SERVING':
      return 'SERVING';
    case 'NOT_SERVING':
    case 'DRAINING':
      return state;
    default:
      throw new FieldError(field, `unknown serving state ${String(state)}`);
  }
}

function checkAmount(field: string, value: number | undefined, max: number): number {
  const v = value ?? 0;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new FieldError(field, 'is not a number');
  if (v < 0) throw new FieldError(field, `must not be negative, got ${v}`);
  if (!Number.isFinite(v) || v > max) throw new FieldError(field, `is absurdly large (${v}); at most ${max}`);
  return v;
}

export function checkLoad(field: string, load: Load__Output | null | undefined, limits: Limits): LoadSample {
  if (!load) throw new FieldError(field, 'is required');
  const named = Object.entries(load.namedMetrics ?? {});
  if (named.length > limits.maxNamedMetrics) {
    throw new FieldError(`${field}.named_metrics`, `has ${named.length} entries, at most ${limits.maxNamedMetrics}`);
  }
  const namedMetrics: Record<string, number> = {};
  for (const [name, value] of named.sort(([a], [b]) => (a < b ? -1 : 1))) {
    const f = `${field}.named_metrics["${name.slice(0, 64)}"]`;
    if (bytes(name) > limits.maxMetricNameBytes || !METRIC_NAME.test(name)) {
      throw new FieldError(f, `names are 1 to ${limits.maxMetricNameBytes} bytes of letters, digits, '.', '_', '-', '/', ':'`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new FieldError(f, 'must be a finite number');
    namedMetrics[name] = value;
  }
  return {
    cpuUtilization: checkAmount(`${field}.cpu_utilization`, load.cpuUtilization, limits.maxUtilization),
    memUtilization: checkAmount(`${field}.mem_utilization`, load.memUtilization, limits.maxUtilization),
    applicationUtilization: checkAmount(`${field}.application_utilization`, load.applicationUtilization, limits.maxUtilization),
    rpsFractional: checkAmount(`${field}.rps_fractional`, load.rpsFractional, limits.maxRatePerSecond),
    eps: checkAmount(`${field}.eps`, load.eps, limits.maxRatePerSecond),
    requestsInFlight: checkAmount(`${field}.requests_in_flight`, load.requestsInFlight, limits.maxRequestsInFlight),
    namedMetrics,
  };
}

/**
 * Maps a grpclb target name ("echo", "echo:50051", "echo.ns.svc:50051", "[::1]:80") to a
 * service name: the name without its port.
 */
export function serviceFromTarget(field: string, name: string | undefined, limits: Limits): string {
  if (!name) throw new FieldError(field, 'is required');
  if (bytes(name) > limits.maxServiceNameBytes) throw new FieldError(field, `is over ${limits.maxServiceNameBytes} bytes`);
  const withoutPort = name.replace(/:\d{1,5}$/, '');
  return checkServiceName(field, withoutPort, limits);
}
