// `npm test` prepares what it needs (DESIGN.md's README contract): emulators and Chromium.
// Each preparation step is added by the part that needs it.
process.exit(0);
