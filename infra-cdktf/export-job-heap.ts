// The export job's Node.js memory settings, derived from its container's memory limit: set on the job
// (constructs/export-job.ts, NODE_OPTIONS) and on the process the export benchmark measures
// (bench/export.ts), from this one place, so the figure is the deployment's.
//
// Why a limit at all: without --max-old-space-size V8 sizes the old generation from the machine, and
// with a large limit it lets the old generation grow up to four times its live size between
// mark-compacts under steady allocation; the exporter's live set is ~60-80 MB whatever the shard, but
// its heap reached 150 MB at 100k cells and 300 MB at 1M. A smaller limit lowers V8's growing factor
// (it scales from 1.3 at small limits to 4 at 2 GB and above), so the heap tracks the live set.
// The limit follows Node.js's advice for a machine of fixed memory: about three quarters of it for
// the heap, the rest for the process's native memory
// (https://nodejs.org/api/cli.html#--max-old-space-sizesize-in-mib). Young and old generation
// together (old + 3 semi-spaces: two semi-spaces and the new large-object space) take that share; a
// Cloud Run instance that exceeds its memory limit is terminated
// (https://cloud.google.com/run/docs/configuring/jobs/memory-limits), so the rest must hold the
// exporter's native memory (test/infra-cdktf/platform-rules.test.ts checks it).

/** Share of the container's memory limit the V8 heap (old and young generation) may take. */
export const EXPORT_JOB_HEAP_SHARE = 0.75;
/** V8's semi-space (MiB), set rather than left to V8's default so the young generation's size is known. */
export const EXPORT_JOB_SEMI_SPACE_MIB = 16;

/** A Kubernetes-style memory quantity (`512Mi`, `2Gi`, `1G`) in MiB. */
export function mebibytes(memory: string): number {
  const m = /^(\d+(?:\.\d+)?)(Mi|Gi|M|G)$/.exec(memory);
  if (!m) throw new Error(`memory limit ${memory}: expected a quantity such as 512Mi or 2Gi`);
  const n = Number(m[1]);
  return m[2] === 'Gi' ? n * 1024 : m[2] === 'Mi' ? n : m[2] === 'G' ? (n * 1e9) / 2 ** 20 : (n * 1e6) / 2 ** 20;
}

/** The V8 heap sizes for a container memory limit, in MiB. */
export function exportJobHeap(memory: string): { oldSpaceMib: number; semiSpaceMib: number } {
  const oldSpaceMib = Math.floor(mebibytes(memory) * EXPORT_JOB_HEAP_SHARE) - 3 * EXPORT_JOB_SEMI_SPACE_MIB;
  return { oldSpaceMib, semiSpaceMib: EXPORT_JOB_SEMI_SPACE_MIB };
}

/** The environment the export job's container runs with for a memory limit (NODE_OPTIONS). */
export function exportJobNodeEnv(memory: string): { NODE_OPTIONS: string } {
  const { oldSpaceMib, semiSpaceMib } = exportJobHeap(memory);
  return { NODE_OPTIONS: `--max-old-space-size=${oldSpaceMib} --max-semi-space-size=${semiSpaceMib}` };
}
