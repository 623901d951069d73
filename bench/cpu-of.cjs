// Preloaded into a benchmarked child (node --require): at exit, writes the process's CPU seconds
// (user + system) to file descriptor 3, which the parent opened as a pipe (bench/backfill.ts).
const { writeSync } = require('node:fs');
process.on('exit', () => {
  const u = process.resourceUsage();
  try {
    writeSync(3, `${(u.userCPUTime + u.systemCPUTime) / 1e6}\n`);
  } catch {
    // not started with a pipe on fd 3
  }
});
