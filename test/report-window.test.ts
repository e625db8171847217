import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_WINDOW_REPORTS, ReportWindow } from '../src/registry/report-window.js';

const errors = (w: ReportWindow) => {
  const { calls, failed } = w.recent();
  return { calls, failed };
};

describe('report window: what outlier ejection reads', () => {
  it('counts calls from each report\'s rates times the time since the previous report', () => {
    const w = new ReportWindow(0, 5000, 10);
    w.add(500, 20, 4, 0.5);
    assert.deepEqual(errors(w), { calls: 10, failed: 2 });
    w.add(1500, 20, 0, 0.5);
    assert.deepEqual(errors(w), { calls: 20, failed: 0 }, 'a busy backend is judged on its latest report alone');
  });

  it('reaches back over a quiet backend\'s reports until they hold enough calls', () => {
    const w = new ReportWindow(0, 5000, 10);
    w.add(500, 8, 0, 0.1); // 4 calls, none failed
    w.add(1000, 8, 4, 0.1); // 4 calls, 2 failed
    w.add(1500, 8, 4, 0.1);
    assert.deepEqual(errors(w), { calls: 12, failed: 4 });
    w.add(2000, 8, 4, 0.1);
    assert.deepEqual(errors(w), { calls: 12, failed: 6 }, 'the oldest, clean report has dropped out');
  });

  it('averages rps and utilization over the whole span, weighted by time', () => {
    const w = new ReportWindow(0, 5000, 1);
    w.add(1000, 10, 0, 0.9);
    w.add(1500, 40, 0, 0.3); // a short, busy-looking report moves the averages by its length only
    const { rps, utilization } = w.recent();
    assert.equal(rps, (10 + 20) / 1.5);
    assert.ok(Math.abs(utilization - (0.9 + 0.3 * 0.5) / 1.5) < 1e-12);
  });

  it('forgets reports older than its span, and keeps at most MAX_WINDOW_REPORTS', () => {
    const w = new ReportWindow(0, 1000, 1000);
    w.add(500, 10, 10, 1);
    w.add(2000, 10, 0, 0.25);
    assert.deepEqual(w.recent(), { calls: 15, failed: 0, rps: 10, utilization: 0.25 }, 'only what the span holds');
    const many = new ReportWindow(0, 1_000_000, 1_000_000);
    for (let i = 1; i <= MAX_WINDOW_REPORTS + 10; i++) many.add(i * 1000, 1, 0, 0.5);
    assert.equal(many.recent().calls, MAX_WINDOW_REPORTS);
  });

  it('never counts more failures than calls', () => {
    const w = new ReportWindow(0, 5000, 1);
    w.add(1000, 5, 50, 0.5);
    assert.deepEqual(errors(w), { calls: 5, failed: 5 });
  });
});
