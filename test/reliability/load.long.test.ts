// Load proof, long variant (npm run test:long): 60 s at up to 5,000 requests/s against the query API and a
// burst of 100k events into the collector; the same assertions as the short variant.
import { describeLoad } from './load-proof.js';

describeLoad({ durationS: 60, rate: 5000, events: 100_000 });
