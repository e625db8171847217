import { Global, Logger, Module, type OnApplicationShutdown, Inject } from '@nestjs/common';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import { MemoryStore } from './memory.store.js';
import { RedisStore } from './redis.store.js';
import { REGISTRY_STORE, type RegistryStore } from './types.js';

export function createStore(config: LookasideConfig): RegistryStore {
  const store = config.redis
    ? new RedisStore(config.redis, config.redisKeyPrefix, config.clientStatsWindowMs)
    : new MemoryStore(config.clientStatsWindowMs);
  const log = new Logger('Store');
  if (store.shared) log.log(`using the ${store.description}`);
  else log.warn(`using the ${store.description}`);
  return store;
}

@Global()
@Module({
  providers: [{ provide: REGISTRY_STORE, inject: [LOOKASIDE_CONFIG], useFactory: createStore }],
  exports: [REGISTRY_STORE],
})
export class StoreModule implements OnApplicationShutdown {
  constructor(@Inject(REGISTRY_STORE) private readonly store: RegistryStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
