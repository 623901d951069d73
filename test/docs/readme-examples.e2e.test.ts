// Every command and curl example of README.md, and every event example of docs/events.md, run as a new
// user would: against a fresh demo data directory, in a working directory of their own. The only
// change made to a command is its size: `generate --events 1000000` runs with 2000 (the streamed ingest
// of a large file is proven by test/runtime/file-ingest.*). gcp examples need a deployment and are not run.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'cli', 'bin.mjs');

/** Fenced blocks as { info, text }. */
function fences(markdown: string): { info: string; text: string }[] {
  const out: { info: string; text: string }[] = [];
  const re = /^```([^\n]*)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) out.push({ info: m[1]!.trim(), text: m[2]! });
  return out;
}

/** The commands of a sh block: continuation lines joined, trailing `# comments` dropped. */
function commands(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.replace(/\s+#\s.*$/, '').trim())
    .filter((l) => l !== '');
}

interface Summary { published: number; accepted: number; rejected: Record<string, number>; duplicates: number }

describe('README.md and docs/events.md examples against a fresh demo', () => {
  let cwd: string;
  let env: NodeJS.ProcessEnv;
  let server: ChildProcess | undefined;
  const readme = fences(readFileSync(join(ROOT, 'README.md'), 'utf8')).filter((b) => b.info === 'sh').map((b) => commands(b.text));
  const sh = (script: string) => spawnSync('sh', ['-c', `set -e\n${script}`], { cwd, env, encoding: 'utf8', timeout: 300_000 });
  const asUser = (cmd: string) => cmd.replaceAll('npx tillstream', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`).replace('--events 1000000', '--events 2000');

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'readme-'));
    env = { ...process.env, TILLSTREAM_DATA_DIR: join(cwd, '.tillstream'), TILLSTREAM_DEMO_EVENTS: '3000' };
    delete env.TILLSTREAM_RUNTIME;
  });
  after(async () => {
    server?.kill('SIGTERM');
    await rm(cwd, { recursive: true, force: true });
  });

  it('has the blocks this test knows: the setup, the commands, the gcp commands and the HTTP examples', () => {
    assert.deepEqual(readme.map((b) => b[0]!.split(' ').slice(0, 3).join(' ')), ['npm ci &&', 'npx tillstream start', 'TILLSTREAM_RUNTIME=gcp npx tillstream', 'KEY=$(npx tillstream keys']);
  });

  it('runs every command of "Running it" in order, each exiting 0', () => {
    for (const cmd of readme[1]!) {
      const r = sh(asUser(cmd));
      assert.equal(r.status, 0, `${cmd}\n${r.stderr}`);
      if (/^npx tillstream ingest /.test(cmd)) {
        const s = JSON.parse(r.stdout.trim().split('\n').pop()!) as Summary;
        assert.ok(s.accepted > 1500, `${cmd}: ${r.stdout}`);
        assert.match(r.stderr, /^ {2}line \d+: \w+: /m, 'the first rejections are printed with their lines');
      }
      if (/^npx tillstream rejections /.test(cmd)) assert.match(r.stdout, /^\d+ entries rejected for merchant pizzaroma since /);
    }
  });

  it('accepts every event example of docs/events.md, loaded with --backfill as the doc says', async () => {
    const doc = fences(await readFile(join(ROOT, 'docs', 'events.md'), 'utf8'));
    const events = doc.filter((b) => b.info === 'json event').map((b) => JSON.stringify(JSON.parse(b.text)));
    await writeFile(join(cwd, 'example.ndjson'), events.join('\n') + '\n');
    const csv = doc.find((b) => b.info === 'csv pos-example');
    assert.ok(csv, 'no POS CSV example');
    await writeFile(join(cwd, 'example.csv'), csv.text);
    for (const [file, expected] of [['example.ndjson', events.length], ['example.csv', 3]] as const) {
      const r = sh(asUser(`npx tillstream ingest --file ${file} --backfill`));
      assert.equal(r.status, 0, r.stderr);
      const s = JSON.parse(r.stdout.trim().split('\n').pop()!) as Summary;
      assert.deepEqual([s.published, s.accepted, s.rejected], [expected, expected, {}], r.stderr);
    }
  });

  it('runs the HTTP examples against the running tillstream start: events accepted, metrics of the demo not zero, its rejections listed', async () => {
    server = spawn(process.execPath, [BIN, 'start'], { cwd, env: { ...env, PORT: '0' } });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      server!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^dashboard: (http:\/\/localhost:\d+)\/$/m.exec(out);
        if (m) resolve(m[1]!);
      });
      server!.once('exit', (code) => reject(new Error(`start exited ${code}`)));
    });
    const block = readme[3]!.map((cmd) => asUser(cmd).replaceAll('localhost:8080', url.slice('http://'.length)).replace(/^curl /, "curl -sS --fail-with-body -w '\\n' "));
    const r = sh(block.join('\n'));
    assert.equal(r.status, 0, `${block.join('\n')}\n${r.stdout}\n${r.stderr}`);
    // The POST answers first (202 with the counts enqueued), then the metrics of the last 7 local days, the rejections, top pages, low stock and promotions.
    const [posted, metrics, rejections, pages, lowStock, promotions] = r.stdout.trim().split('\n').slice(-6).map((l) => JSON.parse(l) as Record<string, unknown>);
    const sent = (await readFile(join(cwd, 'recent.ndjson'), 'utf8')).trim().split('\n').length;
    assert.deepEqual(posted, { received: sent, messages: 1 });
    const points = metrics!.points as { values: { orders: number } }[];
    assert.equal(points.length >= 7, true);
    assert.ok(points.reduce((n, p) => n + p.values.orders, 0) > 0, JSON.stringify(metrics));
    // The demo's deliberate rejections, as of the mart run of start: counts by reason that add up, and samples.
    const byReason = rejections!.by_reason as Record<string, number>;
    assert.equal(rejections!.merchant_id, 'pizzaroma');
    assert.ok(Number(rejections!.total) > 0 && Object.values(byReason).reduce((a, b) => a + b, 0) === rejections!.total, JSON.stringify(rejections));
    assert.equal((rejections!.samples as unknown[]).length, 10);
    // Then today's top pages of the demo's web traffic (by page views, from the daily rows), its low stock and promotions.
    assert.deepEqual([pages!.series, pages!.dimension, pages!.granularity], ['pages', 'page', 'day']);
    assert.ok((pages!.items as unknown[]).length > 0 && Number((pages!.totals as Record<string, number>).page_views) > 0, JSON.stringify(pages));
    assert.equal(lowStock!.merchant_id, 'pizzaroma');
    assert.ok(Array.isArray(lowStock!.items), JSON.stringify(lowStock));
    assert.deepEqual([promotions!.merchant_id, Array.isArray(promotions!.promotions)], ['pizzaroma', true]);
  });
});
