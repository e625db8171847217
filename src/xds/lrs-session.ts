import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { LookasideConfig } from '../config/config.js';
import type { LoadStatsRequest__Output } from '../generated/envoy/service/load_stats/v3/LoadStatsRequest.js';
import type { LoadStatsResponse } from '../generated/envoy/service/load_stats/v3/LoadStatsResponse.js';
import { durationOf } from '../common/duration.js';
import { FieldError, isBadInput } from '../common/grpc-errors.js';
import type { MetricsService } from '../common/metrics.service.js';
import { serveStream } from '../common/stream-session.js';
import type { AuthService, Caller } from '../auth/auth.service.js';
import type { AssignmentService } from '../balancer/assignment.service.js';
import type { ClientStatsService } from '../balancer/client-stats.service.js';
import { checkServiceName, checkZone } from '../registry/validation.js';

export interface LrsDependencies {
  assignments: AssignmentService;
  clientStats: ClientStatsService;
  metrics: MetricsService;
  auth: AuthService;
  config: LookasideConfig;
}

/**
 * One LRS stream: the client introduces itself, lookaside asks for every cluster every
 * LOOKASIDE_CLIENT_STATS_INTERVAL_MS, and each report's per-locality counts become client
 * stats of the backends (as lookaside.v1 ClientLoad does). Reports on a cluster this replica
 * holds no assignment for, or that the caller may not read, are checked and then dropped.
 */
export function serveLoadStats(call: ServerDuplexStream<LoadStatsRequest__Output, LoadStatsResponse>, deps: LrsDependencies): void {
  const { assignments, clientStats, metrics, auth, config } = deps;
  let caller: Caller | undefined;
  let zone = '';
  metrics.streams.inc({ api: 'lrs' });

  const stopWatchingTokens = auth.onTokensChanged(() => {
    if (!caller) return;
    try {
      auth.checkNotRevoked(caller, 'xds');
    } catch (error) {
      stream.abort(error);
    }
  });

  const stream = serveStream(call, {
    async message(request) {
      if (!caller) {
        caller = await auth.authenticate(call.metadata, 'xds');
        zone = checkZone('node.locality.zone', request.node?.locality?.zone, config.limits);
        const reporting = config.clientStatsIntervalMs > 0;
        call.write({
          clusters: [],
          sendAllClusters: reporting,
          loadReportingInterval: durationOf(reporting ? config.clientStatsIntervalMs : 0),
          reportEndpointGranularity: false,
        });
      }
      const clusters = request.clusterStats ?? [];
      if (clusters.length > config.limits.maxLrsClusters) {
        throw new FieldError('cluster_stats', `has ${clusters.length} clusters, at most ${config.limits.maxLrsClusters} (LOOKASIDE_MAX_LRS_CLUSTERS)`);
      }
      const named = clusters.map((stats, i) => {
        const field = `cluster_stats[${i}]`;
        const name = stats.clusterServiceName || stats.clusterName;
        return { stats, field, service: checkServiceName(`${field}.cluster_name`, name, config.limits) };
      });
      const readable = new Set(auth.readable(caller, named.map((n) => n.service)));
      const entries = await Promise.all(
        named.map(async ({ stats, field, service }) => ({
          assignment: readable.has(service) ? await assignments.current(service) : undefined,
          stats,
          field,
        })),
      );
      clientStats.addLrs(entries, zone);
    },
    end() {},
    closed() {
      stopWatchingTokens();
      metrics.streams.dec({ api: 'lrs' });
    },
    rejected(error) {
      if (isBadInput(error)) metrics.rejectedInputs.inc({ api: 'lrs' });
    },
  });
}
