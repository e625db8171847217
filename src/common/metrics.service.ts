import { Injectable } from '@nestjs/common';

const HELP: Record<string, string> = {
  registrations: 'Backend registrations accepted.',
  reports: 'Load reports accepted.',
  deregistrations: 'Backends removed by a clean end of their report stream.',
  leases_expired: 'Backends removed because their lease ran out (by this replica).',
  rejected_inputs: 'Streams or calls ended with INVALID_ARGUMENT or another input error.',
  assignments_pushed: 'Assignment messages written to client streams.',
};

const GAUGE_HELP: Record<string, string> = {
  report_streams: 'Open backend report streams.',
  balance_load_streams: 'Open grpc.lb.v1 BalanceLoad streams.',
  watch_streams: 'Open lookaside.v1 Watch streams.',
  watched_services: 'Services with at least one open client stream on this replica.',
};

/** Counters and gauges in Prometheus text format; no library needed for a handful. */
@Injectable()
export class MetricsService {
  private readonly counters = new Map<string, number>(Object.keys(HELP).map((k) => [k, 0]));
  private readonly gauges = new Map<string, number>(Object.keys(GAUGE_HELP).map((k) => [k, 0]));

  count(name: keyof typeof HELP & string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  gauge(name: keyof typeof GAUGE_HELP & string, by: number): void {
    this.gauges.set(name, (this.gauges.get(name) ?? 0) + by);
  }

  value(name: string): number {
    return this.counters.get(name) ?? this.gauges.get(name) ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, value] of this.counters) {
      lines.push(`# HELP lookaside_${name}_total ${HELP[name]}`, `# TYPE lookaside_${name}_total counter`, `lookaside_${name}_total ${value}`);
    }
    for (const [name, value] of this.gauges) {
      lines.push(`# HELP lookaside_${name} ${GAUGE_HELP[name]}`, `# TYPE lookaside_${name} gauge`, `lookaside_${name} ${value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
