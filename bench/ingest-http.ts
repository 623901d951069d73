// End-to-end ingest over real HTTP: events/s from POSTs to the collector of the local app (its own
// process, bench/ingest-http-server.ts) to rows durably in raw.* with every end state recorded, as
// `tillstream start` runs it. The demo mix is sent as NDJSON bodies of one merchant each (its ingest
// key), at most one bus message per body, by a bounded client (`connections` requests in flight on
// keep-alive sockets); each body is sent once. The clock runs from the first request until the
// server reports every entry published and every message acked; the invariant must hold.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { invariantHolds, type EntryCounts } from '../pipeline/contracts/outcomes.js';
import { DEFAULT_BATCH_LIMITS } from '../pipeline/ingest/entries.js';
import { cpuSecondsOf, median } from './stats.js';
import type { BenchWorkload } from './workload.js';

export interface IngestHttpFigures {
  events: number;
  /** POST → rows in raw.*, every message acked. */
  events_per_s: number;
  /** POST → 202 (durably on the bus and archived), the collector alone. */
  collector_events_per_s: number;
  bodies: number;
  connections: number;
  /**
   * CPU seconds (user + system, all threads) of the server process — collector and runner — and of the
   * client, from the first POST until every message is acked: steadier than events/s on a shared machine.
   */
  server_cpu_s: number;
  client_cpu_s: number;
}

interface Body {
  /** Request headers, built once. */
  headers: Record<string, string>;
  /** The NDJSON body, encoded before the clock starts (as a load generator sends prepared bytes). */
  bytes: Buffer;
}

const bodyOf = (key: string, lines: string[]): Body => {
  const bytes = Buffer.from(lines.join('\n') + '\n');
  return { headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${key}`, 'content-length': String(bytes.length) }, bytes };
};

/** The workload's entries as NDJSON bodies of one merchant each, within one bus message, merchants interleaved. */
export function httpBodies(w: BenchWorkload, keys: Record<string, string>): Body[] {
  const merchants = Object.keys(keys);
  const byMerchant = new Map<string, string[]>(merchants.map((m) => [m, []]));
  for (const m of w.messages) {
    for (const entry of m.entries) {
      // Entries that name no known merchant (broken JSON among them) go with the first one: rejected either way.
      const id = /"merchant_id"\s*:\s*"([^"]+)"/.exec(entry)?.[1];
      byMerchant.get(id !== undefined && byMerchant.has(id) ? id : merchants[0]!)!.push(entry);
    }
  }
  const queues = merchants.map((m) => {
    const bodies: Body[] = [];
    const entries = byMerchant.get(m)!;
    let current: string[] = [];
    let bytes = 0;
    for (const e of entries) {
      const size = Buffer.byteLength(e) + 1;
      if (current.length > 0 && (current.length >= DEFAULT_BATCH_LIMITS.maxEntries || bytes + size > DEFAULT_BATCH_LIMITS.maxBytes)) {
        bodies.push(bodyOf(keys[m]!, current));
        current = [];
        bytes = 0;
      }
      current.push(e);
      bytes += size;
    }
    if (current.length > 0) bodies.push(bodyOf(keys[m]!, current));
    return bodies;
  });
  const out: Body[] = [];
  for (let i = 0; queues.some((q) => i < q.length); i++) for (const q of queues) if (i < q.length) out.push(q[i]!);
  return out;
}

interface Server {
  child: ChildProcess;
  port: number;
  keys: Record<string, string>;
  status(): Promise<{ counts: EntryCounts; pending: number }>;
}

async function startServer(dataDir: string, dimensionsPath: string): Promise<Server> {
  // BENCH_CPU_PROF=<dir>: the server writes a V8 CPU profile there when it stops (node --cpu-prof).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', join(import.meta.dirname, 'ingest-http-server.ts'), dataDir, dimensionsPath], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the ingest_http server exited');
    return value as string;
  };
  const hello = JSON.parse(await next()) as { port: number; keys: Record<string, string> };
  return {
    child,
    ...hello,
    async status() {
      child.stdin!.write('status\n');
      return JSON.parse(await next()) as { counts: EntryCounts; pending: number };
    },
  };
}

function post(agent: Agent, port: number, body: Body): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: '127.0.0.1', port, method: 'POST', path: '/v1/events', headers: body.headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => (res.statusCode === 202 ? resolve() : reject(new Error(`collector answered ${res.statusCode}: ${text}`))));
      },
    );
    req.on('error', reject);
    req.end(body.bytes);
  });
}

interface Round {
  total: number;
  collector: number;
  bodies: number;
  serverCpu: number;
  clientCpu: number;
}

async function once(w: BenchWorkload, dir: string, dimensionsPath: string, connections: number): Promise<Round> {
  const server = await startServer(join(dir, 'data'), dimensionsPath);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  try {
    const bodies = httpBodies(w, server.keys);
    let next = 0;
    const cpu0 = { server: cpuSecondsOf(server.child.pid!), client: process.cpuUsage() };
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (next < bodies.length) await post(agent, server.port, bodies[next++]!);
      }),
    );
    const posted = performance.now();
    for (;;) {
      const { counts, pending } = await server.status();
      if (counts.published === w.entries && pending === 0) {
        if (!invariantHolds(counts)) throw new Error(`ingest_http: end states do not add up: ${JSON.stringify(counts)}`);
        break;
      }
      if (counts.published > w.entries) throw new Error(`ingest_http: ${counts.published} entries published for ${w.entries} sent`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const s = (performance.now() - t0) / 1000;
    const client = process.cpuUsage(cpu0.client);
    return {
      total: w.entries / s,
      collector: w.entries / ((posted - t0) / 1000),
      bodies: bodies.length,
      serverCpu: cpuSecondsOf(server.child.pid!) - cpu0.server,
      clientCpu: (client.user + client.system) / 1e6,
    };
  } finally {
    agent.destroy();
    const exited = new Promise((r) => server.child.once('exit', r));
    server.child.stdin!.end();
    await exited;
  }
}

export async function measureIngestHttp(w: BenchWorkload, dir: string, log: (s: string) => void, opts: { rounds?: number; connections?: number } = {}): Promise<IngestHttpFigures> {
  const connections = opts.connections ?? 8;
  const dimensionsPath = join(dir, 'http-dimensions.json');
  await writeFile(dimensionsPath, JSON.stringify(w.dimensionsFile));
  const totals: number[] = [];
  const collector: number[] = [];
  const serverCpu: number[] = [];
  const clientCpu: number[] = [];
  let bodies = 0;
  for (let round = 0; round < (opts.rounds ?? 3); round++) {
    const r = await once(w, join(dir, `http-${round}`), dimensionsPath, connections);
    totals.push(r.total);
    collector.push(r.collector);
    serverCpu.push(r.serverCpu);
    clientCpu.push(r.clientCpu);
    bodies = r.bodies;
    log(`  round ${round + 1}: POST → raw.* ${Math.round(r.total)} events/s (collector → bus ${Math.round(r.collector)} events/s, ${r.bodies} bodies; CPU s server ${r.serverCpu.toFixed(2)}, client ${r.clientCpu.toFixed(2)})`);
  }
  return {
    events: w.entries,
    events_per_s: Math.round(median(totals)),
    collector_events_per_s: Math.round(median(collector)),
    bodies,
    connections,
    server_cpu_s: Number(median(serverCpu).toFixed(2)),
    client_cpu_s: Number(median(clientCpu).toFixed(2)),
  };
}
