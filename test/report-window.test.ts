import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_WINDOW_REPORTS, ReportWindow } from '../src/registry/report-window.js';

describe('report window: what outlier ejection judges', () => {
  it('counts calls from each report\'s rates times the time since the previous report', () => {
    const w = new ReportWindow(0, 5000, 10);
    w.add(500, 20, 4);
    assert.deepEqual(w.recent(), { calls: 10, failed: 2 });
    w.add(1500, 20, 0);
    assert.deepEqual(w.recent(), { calls: 20, failed: 0 }, 'a busy backend is judged on its latest report alone');
  });

  it('reaches back over a quiet backend\'s reports until they hold enough calls', () => {
    const w = new ReportWindow(0, 5000, 10);
    w.add(500, 8, 0); // 4 calls, none failed
    w.add(1000, 8, 4); // 4 calls, 2 failed
    w.add(1500, 8, 4);
    assert.deepEqual(w.recent(), { calls: 12, failed: 4 });
    w.add(2000, 8, 4);
    assert.deepEqual(w.recent(), { calls: 12, failed: 6 }, 'the oldest, clean report has dropped out');
  });

  it('forgets reports older than its span, and keeps at most MAX_WINDOW_REPORTS', () => {
    const w = new ReportWindow(0, 1000, 1000);
    w.add(500, 10, 10);
    w.add(2000, 10, 0);
    assert.deepEqual(w.recent(), { calls: 15, failed: 0 }, 'too few calls in the span: it holds only what the span has');
    const many = new ReportWindow(0, 1_000_000, 1_000_000);
    for (let i = 1; i <= MAX_WINDOW_REPORTS + 10; i++) many.add(i * 1000, 1, 0);
    assert.equal(many.recent().calls, MAX_WINDOW_REPORTS);
  });

  it('never counts more failures than calls', () => {
    const w = new ReportWindow(0, 5000, 1);
    w.add(1000, 5, 50);
    assert.deepEqual(w.recent(), { calls: 5, failed: 5 });
  });
});
