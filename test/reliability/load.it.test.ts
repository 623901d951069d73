// Load proof, short variant (npm test): 10 s at up to 5,000 requests/s against the query API and a burst
// of 100k events into the collector. Asserts no 5xx, no lost events and bounded memory — never a rate;
// the rates are printed. The 60 s variant is load.long.test.ts (npm run test:long).
import { describeLoad } from './load-proof.js';

describeLoad({ durationS: 10, rate: 5000, events: 100_000 });
