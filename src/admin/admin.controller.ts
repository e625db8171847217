import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Header, HttpException, HttpStatus, Inject, Req, Res } from '@nestjs/common';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import { MetricsService } from '../common/metrics.service.js';
import { HealthService } from '../health/health.service.js';
import type { Caller } from '../auth/auth.service.js';
import { AdminAccess } from './admin-access.js';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard-page.js';
import { FleetService } from './fleet.service.js';
import type { FleetView } from './fleet.types.js';

/** Plain HTTP beside the gRPC port: probes, scraping, the fleet as JSON and the live dashboard. */
@Controller()
export class AdminController {
  private dashboardClients = 0;

  constructor(
    @Inject(LOOKASIDE_CONFIG) private readonly config: LookasideConfig,
    private readonly metrics: MetricsService,
    private readonly health: HealthService,
    private readonly fleet: FleetService,
    private readonly access: AdminAccess,
  ) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  healthz(): { status: string } {
    return { status: 'ok' };
  }

  /** Readiness (see HealthService): the same answer grpc.health.v1 gives on the gRPC port. */
  @Get('readyz')
  async ready(): Promise<{ status: string; store: string }> {
    const readiness = await this.health.check();
    if (!readiness.ready) throw new HttpException({ status: 'unavailable', reason: readiness.reason }, HttpStatus.SERVICE_UNAVAILABLE);
    return { status: 'ok', store: readiness.store };
  }

  @Get('metrics')
  async metricsText(@Req() request: IncomingMessage, @Res() response: ServerResponse): Promise<void> {
    await this.access.readerOfAll(request);
    const text = await this.metrics.render();
    response.writeHead(200, { 'Content-Type': this.metrics.contentType });
    response.end(text);
  }

  /** Every service the caller may read, with its backends, as the dashboard shows them. */
  @Get('api/fleet')
  @Header('Cache-Control', 'no-store')
  async fleetView(@Req() request: IncomingMessage): Promise<FleetView> {
    const caller = await this.access.caller(request);
    return this.visible(await this.fleet.view(), caller);
  }

  @Get('dashboard')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', DASHBOARD_CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('Cache-Control', 'no-store')
  dashboard(): string {
    return DASHBOARD_HTML;
  }

  /**
   * Server-sent events: a `fleet` event with the whole view at once and whenever it changes,
   * comment lines to keep idle proxies from closing the stream. At most
   * LOOKASIDE_MAX_DASHBOARD_CLIENTS at once.
   */
  @Get('dashboard/events')
  async events(@Req() request: IncomingMessage, @Res() response: ServerResponse): Promise<void> {
    const caller = await this.access.caller(request);
    const max = this.config.limits.maxDashboardClients;
    if (this.dashboardClients >= max) {
      this.metrics.limitRejections.inc({ limit: 'dashboard_clients' });
      throw new HttpException({ status: 'busy', reason: `${max} dashboards are open (LOOKASIDE_MAX_DASHBOARD_CLIENTS)` }, HttpStatus.SERVICE_UNAVAILABLE);
    }
    const first = await this.fleet.view();
    this.dashboardClients += 1;
    this.metrics.dashboardClients.inc();
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      'X-Content-Type-Options': 'nosniff',
    });
    const send = (view: FleetView) => response.write(`event: fleet\ndata: ${JSON.stringify(this.visible(view, caller))}\n\n`);
    send(first);
    const unsubscribe = this.fleet.subscribe(send);
    const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), this.config.dashboardKeepAliveMs);
    let closed = false;
    response.on('close', () => {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      unsubscribe();
      this.dashboardClients -= 1;
      this.metrics.dashboardClients.dec();
    });
  }

  private visible(view: FleetView, caller: Caller): FleetView {
    const readable = new Set(this.access.readable(caller, view.services.map((s) => s.name)));
    if (readable.size === view.services.length) return view;
    return { ...view, services: view.services.filter((s) => readable.has(s.name)) };
  }
}
