import { MemoryStore } from '../src/store/memory.store.js';
import { RedisStore } from '../src/store/redis.store.js';
import { STATS_WINDOW_MS, storeContract } from './store.contract.js';
import { startRedis, uniquePrefix } from './support/redis.js';

storeContract('memory', async () => {
  const store = new MemoryStore(STATS_WINDOW_MS);
  return { open: async () => store, teardown: async () => {} };
});

storeContract('redis', async () => {
  const redis = await startRedis();
  const prefix = uniquePrefix();
  return {
    open: async () => new RedisStore({ mode: 'single', url: redis.url }, prefix, STATS_WINDOW_MS),
    teardown: () => redis.stop(),
  };
});
