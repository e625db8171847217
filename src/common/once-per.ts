/**
 * `build` run once per key object and kept as long as the key lives: a message built once per
 * assignment (or per resource) and shared by every stream that sends it.
 */
export function oncePer<K extends object, T>(build: (key: K) => T): (key: K) => T {
  const cache = new WeakMap<K, T>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) {
      value = build(key);
      cache.set(key, value);
    }
    return value;
  };
}
