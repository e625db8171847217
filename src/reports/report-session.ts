import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { LookasideConfig } from '../config/config.js';
import type { ReportRequest__Output } from '../generated/lookaside/v1/ReportRequest.js';
import type { ReportResponse } from '../generated/lookaside/v1/ReportResponse.js';
import { FieldError } from '../common/grpc-errors.js';
import type { MetricsService } from '../common/metrics.service.js';
import { serveStream } from '../common/stream-session.js';
import { durationOf } from '../common/duration.js';
import type { AcceptedRegistration, RegistryService } from '../registry/registry.service.js';

/**
 * One backend's report stream: a Registration, then LoadReports. A half-close removes the
 * backend at once; a broken stream leaves it listed until its lease runs out, so that a
 * backend reconnecting to any replica stays listed throughout.
 */
export function serveReportStream(
  call: ServerDuplexStream<ReportRequest__Output, ReportResponse>,
  registry: RegistryService,
  config: LookasideConfig,
  metrics: MetricsService,
): void {
  let registration: AcceptedRegistration | undefined;
  let accepted = 0;
  metrics.gauge('report_streams', 1);

  const ack = (): ReportResponse => ({
    backendId: registration!.identity.id,
    loadBalanceToken: registration!.identity.token,
    reportInterval: durationOf(config.reportIntervalMs),
    leaseTtl: durationOf(config.leaseTtlMs),
    accepted: ++accepted,
  });

  serveStream(call, {
    async message(request) {
      if (request.kind === 'registration') {
        if (registration) throw new FieldError('registration', 'a stream registers once; open a new stream for another backend');
        const parsed = registry.parseRegistration(request.registration!);
        await registry.register(parsed);
        registration = parsed;
        call.write(ack());
        return;
      }
      if (request.kind === 'loadReport') {
        if (!registration) throw new FieldError('registration', 'must be the first message of the stream');
        const { state, load } = registry.parseReport(request.loadReport!);
        await registry.report(registration, state, load);
        call.write(ack());
        return;
      }
      throw new FieldError('kind', 'set registration or load_report');
    },
    async end() {
      if (registration) await registry.deregister(registration.identity);
    },
    closed() {
      metrics.gauge('report_streams', -1);
    },
    rejected() {
      metrics.count('rejected_inputs');
    },
  });
}
