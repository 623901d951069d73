// Preloaded into a measured command (bench/once.ts, when TILLSTREAM_MEMORY_PROFILE is set): what is
// resident, sampled every 500 ms from /proc/self/smaps (resident kB per mapping, grouped by what it
// maps: the V8 heap and other anonymous memory, each LMDB file, DuckDB's files, code and the rest)
// together with process.memoryUsage(). At exit it prints, on stderr as `memory_peak {json}`, the
// sample with the highest resident set, and `memory_phases {json}` the highest sample of each phase
// the command names on stderr (seeding, ingest, marts), so the parts of the peak can be named in MB;
// with TILLSTREAM_MEMORY_PROFILE a file path, every sample is written there as JSON.
// Linux only; the sampler is a bench tool, not part of the product.
import { readFileSync, writeFileSync, writeSync } from 'node:fs';

const INTERVAL_MS = Number(process.env.TILLSTREAM_MEMORY_PROFILE_MS ?? 500);
const mb = (kb) => Math.round(kb / 1024);

/** Resident kB of each group of mappings: anonymous, and file-backed by the file's kind. */
function residentByMapping() {
  const groups = {};
  let group = 'anon';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      const path = line.split(/\s+/).slice(5).join(' ');
      group = !path ? 'anon'
        : path.endsWith('bus.mdb') ? 'lmdb_bus'
        : path.endsWith('series.mdb') ? 'lmdb_series'
        : path.endsWith('.mdb') ? 'lmdb_other'
        : path.includes('.duckdb') ? 'duckdb_files'
        : path.startsWith('[heap]') ? 'anon'
        : path.startsWith('[') ? 'anon'
        : path.includes('.node') || path.includes('.so') || path.endsWith('/node') ? 'code'
        : 'other_files';
    } else if (line.startsWith('Rss:')) {
      groups[group] = (groups[group] ?? 0) + Number(line.split(/\s+/)[1]);
    }
  }
  return groups;
}

function sample(phase) {
  const m = process.memoryUsage();
  const groups = residentByMapping();
  const rss = Object.values(groups).reduce((a, b) => a + b, 0);
  const anon = groups.anon ?? 0;
  // Anonymous memory outside V8's heap and its external buffers: DuckDB, LMDB's and glibc's own
  // allocations, thread stacks.
  const native = anon - m.heapTotal / 1024 - m.external / 1024;
  return {
    t_s: Math.round(process.uptime() * 10) / 10,
    phase,
    rss_mb: mb(rss),
    heap_total_mb: mb(m.heapTotal / 1024),
    heap_used_mb: mb(m.heapUsed / 1024),
    external_mb: mb(m.external / 1024),
    array_buffers_mb: mb(m.arrayBuffers / 1024),
    native_anon_mb: mb(native),
    ...Object.fromEntries(Object.entries(groups).map(([k, v]) => [`${k}_mb`, mb(v)])),
  };
}

// The phase is read from the command's own stderr lines.
let phase = 'open';
const write = process.stderr.write.bind(process.stderr);
process.stderr.write = (chunk, ...rest) => {
  const s = String(chunk);
  if (s.includes('generating and publishing')) phase = 'seeding';
  else if (s.includes('building marts')) phase = 'marts';
  else if (s.includes('marts built and exported')) phase = 'summary';
  return write(chunk, ...rest);
};

let peak;
const phases = {};
const timeline = [];
const take = () => {
  const s = sample(phase);
  timeline.push(s);
  if (!peak || s.rss_mb > peak.rss_mb) peak = s;
  if (!phases[phase] || s.rss_mb > phases[phase].rss_mb) phases[phase] = s;
};
setInterval(take, INTERVAL_MS).unref();

process.on('exit', () => {
  take();
  writeSync(2, `memory_peak ${JSON.stringify(peak)}\n`);
  writeSync(2, `memory_phases ${JSON.stringify(phases)}\n`);
  // A path instead of 1: every sample is written there too.
  const file = process.env.TILLSTREAM_MEMORY_PROFILE;
  if (file && file !== '1') writeFileSync(file, JSON.stringify(timeline, null, 1));
});
