// Progress on stderr: plain lines on a schedule when the stream is not a terminal, a redrawn bar on
// one, nothing from NO_PROGRESS (--quiet); the mart build's step is named by the mart under way.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createProgress, martBuildProgress, NO_PROGRESS } from '../../cli/progress.js';

function capture(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY, columns: 200, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('command-line progress', () => {
  it('prints plain lines with count, rate and ETA on a schedule when stderr is not a terminal', async () => {
    const out = capture(false);
    const step = createProgress({ stream: out.stream, plainEveryMs: 20 }).start('ingesting', 10, 'messages');
    step.update(4);
    await sleep(60);
    step.update(10);
    step.stop();
    const lines = out.text().split('\n').filter(Boolean);
    assert.ok(lines.length >= 2, out.text());
    for (const l of lines) assert.match(l, /^ingesting [=-]{24} \d+% \| \d+\/10 messages \| [\d.,]+ messages\/s \| ETA \S+ $/);
    assert.match(lines.at(-1)!, /100% \| 10\/10 messages/);
    assert.doesNotMatch(out.text(), /\x1b\[/);
  });

  it('redraws one line on a terminal', async () => {
    const out = capture(true);
    const step = createProgress({ stream: out.stream }).start('building marts', 4, 'windows');
    step.update(2, 4, 'mart_hourly_store_sales');
    step.stop();
    assert.match(out.text(), /building marts .* 2\/4 windows .* mart_hourly_store_sales/);
    assert.match(out.text(), /\r|\x1b\[/);
  });

  it('names the mart under way and ends when every window is built', async () => {
    const seen: [number, number | undefined, string | undefined][] = [];
    let stops = 0;
    const b = martBuildProgress({ start: () => ({ update: (d, t, detail) => void seen.push([d, t, detail]), stop: () => void stops++ }) });
    b.onWindow({ done: 0, total: 2, mart: 'mart_a' });
    b.onWindow({ done: 1, total: 2, mart: 'mart_b' });
    b.onWindow({ done: 2, total: 2, mart: '' });
    assert.deepStrictEqual(seen, [[0, 2, 'mart_a'], [1, 2, 'mart_b'], [2, 2, '']]);
    assert.ok(stops >= 1);
  });
});
