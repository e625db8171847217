/**
 * A response shared by many streams, serialized by the first write and reused by the rest.
 * grpc-js serializes every write of every stream; pushing one assignment to 10,000 streams
 * would otherwise encode the same message 10,000 times. Only methods passed through
 * acceptEncoded take one.
 */
export class Encoded<T> {
  bytes: Buffer | undefined;
  constructor(readonly message: T) {}
}

/**
 * A response whose fields are partly its own (`own`: a nonce, a version) and partly shared with
 * other streams' responses (`shared`). Its bytes are own's followed by shared's: a protobuf
 * parser reads fields in any order, and these two parts set disjoint fields.
 */
export class Spliced<T> {
  constructor(
    readonly own: T,
    readonly shared: Encoded<T>,
  ) {}
}

interface MethodDefinitionLike {
  responseSerialize: (value: unknown) => Buffer;
}

/**
 * Lets `methods` ("package.Service/Method") of a proto-loader package definition write an
 * Encoded or a Spliced as well as a plain message.
 */
export function acceptEncoded(definition: Record<string, unknown>, methods: readonly string[]): void {
  for (const name of methods) {
    const [service, method] = name.split('/');
    const target = (definition[service] as Record<string, MethodDefinitionLike> | undefined)?.[method];
    if (!target) throw new Error(`acceptEncoded: no method ${name} in the package definition`);
    const serialize = target.responseSerialize;
    const bytesOf = (encoded: Encoded<unknown>) => (encoded.bytes ??= serialize(encoded.message));
    target.responseSerialize = (value) => {
      if (value instanceof Encoded) return bytesOf(value);
      if (value instanceof Spliced) return Buffer.concat([serialize(value.own), bytesOf(value.shared)]);
      return serialize(value);
    };
  }
}
