// How a workload mounts the API key pepper secret. Apart from operations.ts (which creates the secret)
// because the functions and serving constructs need it too, and operations.ts reads the functions table:
// kept here, the import graph has no circle.
import type { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member/index.js';

/** The environment variable the pepper secret is mounted as (adapters/gcp/config.ts reads it). */
export const PEPPER_ENV = 'TILLSTREAM_KEY_PEPPER';

/** What a pepper reader needs to mount the secret: its id, and the grant the mount must wait for. */
export interface PepperMount {
  secretId: string;
  grant: SecretManagerSecretIamMember;
}
