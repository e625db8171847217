import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import type { ClientStats__Output } from '../generated/grpc/lb/v1/ClientStats.js';
import type { ClientLoad__Output } from '../generated/lookaside/v1/ClientLoad.js';
import type { ClusterStats__Output } from '../generated/envoy/config/endpoint/v3/ClusterStats.js';
import { FieldError } from '../common/grpc-errors.js';
import type { ServiceAssignment } from '../policy/policy.js';
import { REGISTRY_STORE, addTokenStats, type RegistryStore, type TokenCallStats } from '../store/types.js';
import { zoneRow } from '../policy/zones.js';

/** How often this replica adds what its clients reported to the shared stats window. */
export const CLIENT_STATS_FLUSH_MS = 1000;
const MAX_TOKEN_BYTES = 50;
/** The stats row for counts that belong to no one backend (grpclb totals, drops). */
export const SERVICE_WIDE = '*';

function count(field: string, value: number | undefined): number {
  const v = value ?? 0;
  if (!Number.isSafeInteger(v) || v < 0) throw new FieldError(field, `must be a non-negative integer, got ${v}`);
  return v;
}

function checkToken(field: string, token: string): string {
  if (!token || Buffer.byteLength(token) >= MAX_TOKEN_BYTES) throw new FieldError(field, `must be 1 to ${MAX_TOKEN_BYTES - 1} bytes`);
  return token;
}

/**
 * Sums the call counts clients report, per service and backend token, and adds them to the
 * store's current window once a second: one batched write, not one per client message.
 * Counts for tokens the service does not hand out are validated and then ignored, so a
 * client cannot grow the state with made-up tokens.
 */
@Injectable()
export class ClientStatsService implements OnModuleDestroy {
  private readonly log = new Logger('ClientStats');
  private pending = new Map<string, Map<string, TokenCallStats>>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    @Inject(LOOKASIDE_CONFIG) private readonly config: LookasideConfig,
    @Inject(REGISTRY_STORE) private readonly store: RegistryStore,
  ) {
    this.timer = setInterval(() => void this.flush(), CLIENT_STATS_FLUSH_MS);
    this.timer.unref();
  }

  /** grpclb ClientStats: totals per client, drops per token. */
  addGrpclb(assignment: ServiceAssignment | undefined, stats: ClientStats__Output): void {
    const drops = stats.callsFinishedWithDrop ?? [];
    if (drops.length > this.config.limits.maxStatsTokens) {
      throw new FieldError('client_stats.calls_finished_with_drop', `has over ${this.config.limits.maxStatsTokens} entries`);
    }
    const started = count('client_stats.num_calls_started', stats.numCallsStarted);
    const finished = count('client_stats.num_calls_finished', stats.numCallsFinished);
    const failedToSend = count('client_stats.num_calls_finished_with_client_failed_to_send', stats.numCallsFinishedWithClientFailedToSend);
    count('client_stats.num_calls_finished_known_received', stats.numCallsFinishedKnownReceived);
    let dropped = 0;
    drops.forEach((d, i) => {
      checkToken(`client_stats.calls_finished_with_drop[${i}].load_balance_token`, d.loadBalanceToken);
      dropped += count(`client_stats.calls_finished_with_drop[${i}].num_calls`, d.numCalls);
    });
    if (!assignment) return;
    // grpclb does not say which backend a call went to: its totals are service-wide.
    this.add(assignment.service, SERVICE_WIDE, { started, finished, failed: failedToSend, dropped });
  }

  /** lookaside.v1 ClientLoad: counts per backend token, and the calls started in the client's zone. */
  addClientLoad(assignment: ServiceAssignment | undefined, load: ClientLoad__Output, clientZone: string): void {
    const tokens = load.tokens ?? [];
    if (tokens.length > this.config.limits.maxStatsTokens) {
      throw new FieldError('client_load.tokens', `has over ${this.config.limits.maxStatsTokens} entries`);
    }
    const parsed = tokens.map((t, i) => ({
      token: checkToken(`client_load.tokens[${i}].load_balance_token`, t.loadBalanceToken),
      started: count(`client_load.tokens[${i}].calls_started`, t.callsStarted),
      finished: count(`client_load.tokens[${i}].calls_finished`, t.callsFinished),
      failed: count(`client_load.tokens[${i}].calls_failed`, t.callsFailed),
    }));
    const dropped = count('client_load.calls_dropped', load.callsDropped);
    if (!assignment) return;
    const known = new Set(assignment.backends.map((b) => b.token));
    let started = 0;
    for (const p of parsed) {
      if (!known.has(p.token)) continue;
      this.add(assignment.service, p.token, { ...p, dropped: 0 });
      started += p.started;
    }
    if (dropped > 0) this.add(assignment.service, SERVICE_WIDE, { started: 0, finished: 0, failed: 0, dropped });
    this.addZoneCalls(assignment, clientZone, started);
  }

  /**
   * One LRS report (xDS clients): per cluster, counts per locality, which lookaside makes one
   * per backend (sub_zone = backend id), so they land on the backend's token. Every entry is
   * checked before any is counted; `field` locates each in the request, for errors.
   */
  addLrs(clusters: Array<{ assignment: ServiceAssignment | undefined; stats: ClusterStats__Output; field: string }>, clientZone: string): void {
    const parsed = clusters.map(({ assignment, stats, field }) => {
      const localities = stats.upstreamLocalityStats ?? [];
      if (localities.length > this.config.limits.maxStatsTokens) {
        throw new FieldError(`${field}.upstream_locality_stats`, `has over ${this.config.limits.maxStatsTokens} entries`);
      }
      const perLocality = localities.map((l, i) => {
        const at = `${field}.upstream_locality_stats[${i}]`;
        const succeeded = count(`${at}.total_successful_requests`, l.totalSuccessfulRequests);
        const failed = count(`${at}.total_error_requests`, l.totalErrorRequests);
        const started = count(`${at}.total_issued_requests`, l.totalIssuedRequests);
        return { id: l.locality?.subZone ?? '', started, finished: succeeded + failed, failed };
      });
      return { assignment, perLocality, dropped: count(`${field}.total_dropped_requests`, stats.totalDroppedRequests) };
    });
    for (const { assignment, perLocality, dropped } of parsed) {
      if (!assignment) continue;
      const tokens = new Map<string, string>();
      for (const b of assignment.backends) tokens.set(b.id, b.token);
      for (const b of assignment.draining) tokens.set(b.id, b.token);
      let started = 0;
      for (const { id, ...counts } of perLocality) {
        const token = tokens.get(id);
        if (!token) continue;
        this.add(assignment.service, token, { ...counts, dropped: 0 });
        started += counts.started;
      }
      this.addZoneCalls(assignment, clientZone, started);
      if (dropped > 0) this.add(assignment.service, SERVICE_WIDE, { started: 0, finished: 0, failed: 0, dropped });
    }
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.store.addClientStats(batch);
    } catch (error) {
      this.log.warn(`cannot store client stats: ${(error as Error).message}`);
    }
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Demand per zone for zone-aware weights; only zones the service has backends in, so rows stay few. */
  private addZoneCalls(assignment: ServiceAssignment, zone: string, started: number): void {
    if (zone === '' || started === 0 || !assignment.backends.some((b) => b.zone === zone)) return;
    this.add(assignment.service, zoneRow(zone), { started, finished: 0, failed: 0, dropped: 0 });
  }

  private add(service: string, token: string, delta: TokenCallStats): void {
    let tokens = this.pending.get(service);
    if (!tokens) this.pending.set(service, (tokens = new Map()));
    addTokenStats(tokens, token, delta);
  }
}
