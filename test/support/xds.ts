import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_DIR } from '../../src/app.js';

/** The Envoy protos of protos/, to read what lookaside put in each Any. */
const root = (() => {
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  r.loadSync([
    'envoy/config/listener/v3/listener.proto',
    'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
    'envoy/config/route/v3/route.proto',
    'envoy/config/cluster/v3/cluster.proto',
    'envoy/config/endpoint/v3/endpoint.proto',
  ]);
  return r;
})();

export type Packed = { type_url: string; value: Buffer | Uint8Array };

/** The message in an Any, as a plain object (enums as names). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function unpack(any: Packed): any {
  const type = root.lookupType(any.type_url.replace('type.googleapis.com/', ''));
  return type.toObject(type.decode(any.value), { enums: String, longs: Number, defaults: true, oneofs: true });
}
