// Preloaded into a measured command (bench/once.ts): at exit, its peak resident set as getrusage
// reports it (KiB), on stderr as `peak_rss_kb N`, so the bench needs no platform tool to read it.
import { writeSync } from 'node:fs';

process.on('exit', () => {
  writeSync(2, `peak_rss_kb ${process.resourceUsage().maxRSS}\n`);
});
