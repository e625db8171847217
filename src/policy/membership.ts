import { backendId, loadBalanceToken } from '../common/backend-id.js';
import type { BackendRecord, BackendState, ClusterMember, ServiceSnapshot } from '../store/types.js';

function clusterState(member: ClusterMember): BackendState {
  if (member.terminating) return 'DRAINING';
  return member.ready ? 'SERVING' : 'NOT_SERVING';
}

/** The stricter of two states: draining beats not serving beats serving. */
function stricter(a: BackendState, b: BackendState): BackendState {
  const rank: Record<BackendState, number> = { SERVING: 0, NOT_SERVING: 1, DRAINING: 2 };
  return rank[a] >= rank[b] ? a : b;
}

/**
 * The backends the policy weighs. Outside a cluster: the reported ones. In cluster mode
 * (the snapshot has a Kubernetes view): exactly the Service's endpoints, ready ones serving,
 * terminating ones draining, others not serving; a report adds its load, labels and its own
 * draining or not-serving state to the endpoint with its address, and reports for addresses
 * outside the view count for nothing. Sorted by id.
 */
export function effectiveBackends(snapshot: ServiceSnapshot): BackendRecord[] {
  if (!snapshot.cluster) return snapshot.backends;
  const reported = new Map(snapshot.backends.map((b) => [b.id, b]));
  const merged = snapshot.cluster.map((member): BackendRecord => {
    const id = backendId(member.host, member.port);
    const report = reported.get(id);
    const state = clusterState(member);
    if (report) return { ...report, zone: report.zone || member.zone, state: stricter(state, report.state) };
    return {
      service: snapshot.service,
      id,
      host: member.host,
      port: member.port,
      zone: member.zone,
      labels: {},
      token: loadBalanceToken(snapshot.service, id),
      session: '',
      principal: '',
      state,
      load: null,
      smoothed: null,
      recent: null,
      lastReportMs: 0,
      registeredAtMs: 0,
      ejection: null,
    };
  });
  return merged.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
