// Crash proof, long variant (npm run test:long): 30 SIGKILLs over a 4,000-entry workload.
import { describeCrash } from './crash-proof.js';

describeCrash({ events: 4000, kills: 30 });
