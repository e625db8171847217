// The one place that touches grpc-js's experimental registration API.
import { experimental } from '@grpc/grpc-js';
import { LookasideLoadBalancer, LookasideLoadBalancingConfig } from './load-balancer-lookaside.js';
import { fallbackUri, lookasideTarget, type LookasideOptions } from './options.js';
import { LB_POLICY_NAME } from './resolution.js';
import { LookasideResolver, setResolverDefaults } from './resolver.js';

/** The target scheme: lookaside:///SERVICE or lookaside://HOST:PORT/SERVICE. */
export const LOOKASIDE_SCHEME = 'lookaside';

let registered = false;

/**
 * Registers the `lookaside` resolver scheme and LB policy with @grpc/grpc-js. Idempotent:
 * grpc-js is told once; a later call only replaces the defaults, which apply to channels
 * created after it. Throws on an option that cannot work (e.g. a malformed address).
 */
export function registerLookaside(options: LookasideOptions = {}): void {
  if (options.lookasideAddress !== undefined) lookasideTarget(options.lookasideAddress);
  fallbackUri(options.fallback);
  setResolverDefaults(options);
  if (registered) return;
  experimental.registerResolver(LOOKASIDE_SCHEME, LookasideResolver);
  experimental.registerLoadBalancerType(LB_POLICY_NAME, LookasideLoadBalancer, LookasideLoadBalancingConfig);
  registered = true;
}

/** Whether registerLookaside() has run in this process. */
export function isLookasideRegistered(): boolean {
  return registered && experimental.isLoadBalancerNameRegistered(LB_POLICY_NAME);
}
