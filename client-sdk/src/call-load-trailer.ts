// Per-call load, ORCA style: the backend puts its requests in flight and utilization in every
// call's trailer as a serialized xds.data.orca.v3.OrcaLoadReport (protos/xds/data/orca/v3),
// so a client learns a backend's queue from each answer, with no extra round trip. Hand-coded
// for the few fields used: the client reads it on every call end, and this reads it without
// allocating.

/** The trailer ORCA per-call reports travel in (grpc's name; binary, so base64 on the wire). */
export const CALL_LOAD_TRAILER = 'endpoint-load-metrics-bin';
/** The named metric holding the backend's requests in flight when it answered. */
export const REQUESTS_IN_FLIGHT_METRIC = 'rif';

const CPU_UTILIZATION = 1;
const NAMED_METRICS = 8;
const APPLICATION_UTILIZATION = 9;
const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;
const RIF_KEY = Buffer.from(REQUESTS_IN_FLIGHT_METRIC, 'latin1');

/** What one trailer said; -1 = not in it. */
export interface CallLoadFigures {
  requestsInFlight: number;
  utilization: number;
}

/**
 * An OrcaLoadReport with application_utilization (when > 0) and named_metrics {rif: n}.
 * Fields in number order, as protobuf encoders write them.
 */
export function encodeCallLoad(requestsInFlight: number, utilization: number): Buffer {
  const withUtilization = utilization > 0 && Number.isFinite(utilization);
  // named_metrics entry: key (tag, length, "rif") + value (tag, 8 bytes).
  const entryLength = 2 + RIF_KEY.length + 9;
  const out = Buffer.allocUnsafe(2 + entryLength + (withUtilization ? 9 : 0));
  let at = 0;
  out[at++] = (NAMED_METRICS << 3) | WIRE_LENGTH;
  out[at++] = entryLength;
  out[at++] = (1 << 3) | WIRE_LENGTH;
  out[at++] = RIF_KEY.length;
  at += RIF_KEY.copy(out, at);
  out[at++] = (2 << 3) | WIRE_FIXED64;
  at = out.writeDoubleLE(requestsInFlight, at);
  if (withUtilization) {
    out[at++] = (APPLICATION_UTILIZATION << 3) | WIRE_FIXED64;
    out.writeDoubleLE(utilization, at);
  }
  return out;
}

/**
 * Reads `bytes` into `out` (requests in flight from named_metrics.rif; utilization from
 * application_utilization, else cpu_utilization); fields it does not use are skipped.
 * False, with `out` left at -1, when the bytes are not a well-formed report. Not reentrant:
 * the read position is module state, so that nothing is allocated per call.
 */
export function decodeCallLoad(bytes: Buffer, out: CallLoadFigures): boolean {
  out.requestsInFlight = -1;
  out.utilization = -1;
  let cpu = -1;
  at = 0;
  const end = bytes.length;
  while (at < end) {
    const tag = readVarint(bytes, end);
    if (tag < 0) return fail(out);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === WIRE_FIXED64 && (field === APPLICATION_UTILIZATION || field === CPU_UTILIZATION)) {
      if (at + 8 > end) return fail(out);
      const value = bytes.readDoubleLE(at);
      at += 8;
      if (field === APPLICATION_UTILIZATION) out.utilization = value;
      else cpu = value;
    } else if (wire === WIRE_LENGTH && field === NAMED_METRICS) {
      const length = readVarint(bytes, end);
      if (length < 0 || at + length > end) return fail(out);
      const entryEnd = at + length;
      const value = rifEntry(bytes, entryEnd);
      if (Number.isNaN(value)) return fail(out);
      if (value >= 0) out.requestsInFlight = value;
      at = entryEnd;
    } else if (!skip(bytes, end, wire)) {
      return fail(out);
    }
  }
  if (out.utilization < 0 && cpu >= 0) out.utilization = cpu;
  return true;
}

/** Read position in the report being decoded. */
let at = 0;

/** The value of the map entry ending at `end` when its key is "rif"; -1 for another key; NaN when malformed. */
function rifEntry(bytes: Buffer, end: number): number {
  let isRif = false;
  let value = 0;
  while (at < end) {
    const tag = readVarint(bytes, end);
    if (tag < 0) return Number.NaN;
    if (tag === ((1 << 3) | WIRE_LENGTH)) {
      const length = readVarint(bytes, end);
      if (length < 0 || at + length > end) return Number.NaN;
      isRif = length === RIF_KEY.length && isRifKey(bytes, at);
      at += length;
    } else if (tag === ((2 << 3) | WIRE_FIXED64)) {
      if (at + 8 > end) return Number.NaN;
      value = bytes.readDoubleLE(at);
      at += 8;
    } else if (!skip(bytes, end, tag & 7)) {
      return Number.NaN;
    }
  }
  return isRif && value >= 0 ? value : -1;
}

/** Whether RIF_KEY's bytes start at `from`: a loop, as Buffer.compare with offsets is a native call (a quarter of the decode's time). */
function isRifKey(bytes: Buffer, from: number): boolean {
  for (let i = 0; i < RIF_KEY.length; i++) if (bytes[from + i] !== RIF_KEY[i]) return false;
  return true;
}

function skip(bytes: Buffer, end: number, wire: number): boolean {
  if (wire === WIRE_VARINT) return readVarint(bytes, end) >= 0;
  const length = wire === WIRE_FIXED64 ? 8 : wire === WIRE_FIXED32 ? 4 : wire === WIRE_LENGTH ? readVarint(bytes, end) : -1;
  if (length < 0 || at + length > end) return false;
  at += length;
  return true;
}

/** A varint of up to 7 bytes (2^49, beyond any length here); -1 when cut short or longer. */
function readVarint(bytes: Buffer, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 7 && at < end; i++) {
    const b = bytes[at++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value;
    scale *= 128;
  }
  return -1;
}

function fail(out: CallLoadFigures): false {
  out.requestsInFlight = -1;
  out.utilization = -1;
  return false;
}
