import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { LookasideConfig } from '../config/config.js';
import type { ReportRequest__Output } from '../generated/lookaside/v1/ReportRequest.js';
import type { ReportResponse } from '../generated/lookaside/v1/ReportResponse.js';
import { FieldError, isBadInput, toStatus } from '../common/grpc-errors.js';
import type { MetricsService } from '../common/metrics.service.js';
import { serveStream } from '../common/stream-session.js';
import { durationOf } from '../common/duration.js';
import type { AuthService, Caller } from '../auth/auth.service.js';
import type { AcceptedRegistration, RegistryService } from '../registry/registry.service.js';
import type { ConnectionLimits } from './connection-limits.js';

export interface ReportDependencies {
  registry: RegistryService;
  config: LookasideConfig;
  metrics: MetricsService;
  auth: AuthService;
  limits: ConnectionLimits;
}

/**
 * One backend's report stream: a Registration, then LoadReports. A half-close removes the
 * backend at once; a broken stream leaves it listed until its lease runs out, so that a
 * backend reconnecting to any replica stays listed throughout. The caller is authenticated
 * and authorized before anything is stored, and checked again when the token file changes.
 */
export function serveReportStream(call: ServerDuplexStream<ReportRequest__Output, ReportResponse>, deps: ReportDependencies): void {
  const { registry, config, metrics, auth, limits } = deps;
  const peer = call.getPeer();
  let release: () => void;
  try {
    release = limits.openReportStream(peer);
  } catch (error) {
    call.emit('error', toStatus(error));
    return;
  }
  let registration: AcceptedRegistration | undefined;
  let caller: Caller | undefined;
  let accepted = 0;
  metrics.streams.inc({ api: 'report' });

  const ack = (): ReportResponse => ({
    backendId: registration!.identity.id,
    loadBalanceToken: registration!.identity.token,
    reportInterval: durationOf(config.reportIntervalMs),
    leaseTtl: durationOf(config.leaseTtlMs),
    accepted: ++accepted,
  });

  // A revoked or narrowed token ends the stream, and its backend leaves at once.
  const recheck = () => {
    if (!registration || !caller) return;
    try {
      auth.authorizeRegistration(caller, registration.identity);
    } catch (error) {
      const identity = registration.identity;
      registration = undefined;
      void registry.deregister(identity).finally(() => stream.abort(error));
    }
  };
  const stopWatchingTokens = auth.onTokensChanged(recheck);

  const stream = serveStream(call, {
    async message(request) {
      const started = performance.now();
      if (request.kind === 'registration') {
        if (registration) throw new FieldError('registration', 'a stream registers once; open a new stream for another backend');
        limits.takeRegistration(peer);
        caller = await auth.authenticate(call.metadata, 'report');
        const parsed = registry.parseRegistration(request.registration!, caller.principal);
        auth.authorizeRegistration(caller, parsed.identity);
        await registry.register(parsed);
        registration = parsed;
        call.write(ack());
        metrics.reportHandling.observe({ kind: 'registration' }, (performance.now() - started) / 1000);
        return;
      }
      if (request.kind === 'loadReport') {
        if (!registration) throw new FieldError('registration', 'must be the first message of the stream');
        const { state, load } = registry.parseReport(request.loadReport!);
        await registry.report(registration, state, load);
        call.write(ack());
        metrics.reportHandling.observe({ kind: 'load_report' }, (performance.now() - started) / 1000);
        return;
      }
      throw new FieldError('kind', 'set registration or load_report');
    },
    async end() {
      if (registration) await registry.deregister(registration.identity);
    },
    closed() {
      stopWatchingTokens();
      release();
      metrics.streams.dec({ api: 'report' });
    },
    rejected(error) {
      if (isBadInput(error)) metrics.rejectedInputs.inc({ api: 'report' });
    },
  });
}
