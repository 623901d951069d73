// Test support: synthesizes a Tillstream stack once and reads its Terraform JSON — resources by type,
// and references (`${google_x.name.attr}`) resolved to the names they point at, so assertions can
// compare whole, readable values.
import { Testing } from 'cdktf';
import { loadStackConfig, type Environment, type StackConfig } from '../../infra-cdktf/config.js';
import { TillstreamStack } from '../../infra-cdktf/stack.js';

export type Block = Record<string, any>;

export interface Synthesized {
  config: StackConfig;
  stack: TillstreamStack;
  json: { resource: Record<string, Record<string, Block>>; data?: Record<string, Record<string, Block>>; output?: Record<string, Block>; terraform: Block };
  /** Every resource of a type, keyed by logical id. */
  resources(type: string): Record<string, Block>;
  /** The one resource of a type whose `attr` equals `value`. */
  find(type: string, attr: string, value: unknown): Block;
  /** Replaces `${type.id.attr}` references by a readable name of what they point at. */
  resolve(text: string): string;
}

const NAME_ATTRS = ['name', 'account_id', 'dataset_id', 'table_id', 'secret_id', 'repository_id', 'app_profile_id', 'service'];

export function synthesize(environment: Environment, env: NodeJS.ProcessEnv = {}): Synthesized {
  // Defaults only (unless a test passes its overrides): the test process's own variables never count.
  const config = loadStackConfig(environment, env);
  const app = Testing.app();
  const stack = new TillstreamStack(app, `tillstream-${environment}`, config);
  const json = JSON.parse(Testing.synth(stack));
  const resources = (type: string): Record<string, Block> => json.resource[type] ?? {};
  const resolve = (text: string): string =>
    text.replace(/\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)((?:\[\d+\]\.[a-z_]+)*)\}/g, (whole, data: string | undefined, type: string, id: string, attr: string) => {
      const block = (data ? json.data?.[type] : json.resource[type])?.[id];
      if (!block) return whole;
      if (typeof block[attr] === 'string' && !block[attr].includes('${')) return block[attr];
      const name = NAME_ATTRS.map((a) => block[a]).find((v) => typeof v === 'string');
      return `${type}:${name ?? id}`;
    });
  const find = (type: string, attr: string, value: unknown): Block => {
    const hits = Object.values(resources(type)).filter((b) => b[attr] === value);
    if (hits.length !== 1) throw new Error(`expected one ${type} with ${attr} = ${String(value)}, found ${hits.length}`);
    return hits[0]!;
  };
  return { config, stack, json, resources, find, resolve };
}

const TARGET: Record<string, (b: Block) => string> = {
  google_project_iam_member: (b) => `project:${b.project}`,
  google_bigquery_dataset_iam_member: (b) => `dataset:${b.dataset_id}`,
  google_bigquery_table_iam_member: (b) => `table:${b.dataset_id}.${b.table_id}`,
  google_bigtable_table_iam_member: (b) => `bigtable:${b.table}`,
  google_storage_bucket_iam_member: (b) => `bucket:${b.bucket}`,
  google_pubsub_topic_iam_member: (b) => `topic:${b.topic}`,
  google_pubsub_subscription_iam_member: (b) => `subscription:${b.subscription}`,
  google_secret_manager_secret_iam_member: (b) => `secret:${b.secret_id}`,
  google_cloud_run_v2_service_iam_member: (b) => `run:${b.name}`,
  google_cloud_run_v2_job_iam_member: (b) => `runJob:${b.name}`,
  google_artifact_registry_repository_iam_member: (b) => `repository:${b.repository}`,
  google_service_account_iam_member: (b) => `serviceAccount:${b.service_account_id}`,
};

export interface Grant {
  member: string;
  on: string;
  role: string;
}

/** Every IAM grant of the stack, references resolved (`serviceAccount:google_service_account:<id>`). */
export function grants(s: Synthesized): Grant[] {
  const out: Grant[] = [];
  // Dataset access entries: service accounts by email, groups by email, authorized views by table.
  for (const raw of Object.values(s.resources('google_bigquery_dataset_access'))) {
    const b = JSON.parse(s.resolve(JSON.stringify(raw))) as Block;
    const member = b.user_by_email ? `serviceAccount:${b.user_by_email}` : b.group_by_email ? `group:${b.group_by_email}` : `view:${b.view?.dataset_id}.${b.view?.table_id}`;
    out.push({ member, on: `dataset:${b.dataset_id}`, role: b.role ?? 'authorized-view' });
  }
  for (const type of Object.keys(s.json.resource).filter((t) => t.endsWith('_iam_member'))) {
    const target = TARGET[type];
    if (!target) throw new Error(`no target reader for ${type}`);
    for (const raw of Object.values(s.resources(type))) {
      const b = JSON.parse(s.resolve(JSON.stringify(raw))) as Block;
      out.push({ member: b.member, on: target(b), role: b.role });
    }
  }
  return out;
}

/** `<on> <role>` for one of our service accounts, sorted. */
export function rolesOf(s: Synthesized, accountId: string): string[] {
  return grants(s)
    .filter((g) => g.member === `serviceAccount:google_service_account:${accountId}`)
    .map((g) => `${g.on} ${g.role}`)
    .sort();
}
