// Crash proof, npm test variant: 12 SIGKILLs of the local runtime over a 2,000-entry workload.
import { describeCrash } from './crash-proof.js';

describeCrash({ events: 2000, kills: 12 });
