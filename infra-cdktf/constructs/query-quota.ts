// The daily cap on the bytes the hourly mart script may bill. A scheduled query (BigQuery Data Transfer
// Service) takes no maximumBytesBilled: its only parameters are the query, the destination and the
// write mode (https://cloud.google.com/bigquery/docs/scheduling-queries#api). The one control it is
// under is BigQuery's custom query quota (https://cloud.google.com/bigquery/docs/custom-quotas):
// - "Query usage per day per user" (metric bigquery.googleapis.com/quota/query/usage, limit
//   /d/project/user) counts each principal's bytes processed per day, the service account a scheduled
//   query runs as included; it cannot be set for one principal alone ("It is not possible to assign a
//   custom quota to a specific user or service account"), so it is a cap on every principal of the
//   project, sized by the largest one, the marts runner;
// - it is checked before a job runs ("custom quota is proactive"): a script statement that would cross
//   it fails with usageQuotaExceeded and bills nothing; the quota resets at midnight Pacific Time;
// - the project-wide "Query usage per day" still applies on top (200 TiB by default): the per-user
//   quota cannot lift the project's total.
// Terraform sets it as a consumer quota override, in the quota's unit, MiB per day; `force` lets the
// first apply lower the default (unlimited) by more than 10 %, which the API otherwise refuses
// (https://registry.terraform.io/providers/hashicorp/google-beta/latest/docs/resources/service_usage_consumer_quota_override).
// The resource exists in the google-beta provider only, and @cdktf/provider-google has no binding for
// it: declared here as a plain resource of that provider, like service-identity.ts.
import { Construct } from 'constructs';
import { TerraformResource } from 'cdktf';
import type { StackConfig } from '../config.js';
import type { GoogleBetaProvider } from './service-identity.js';

export const QUERY_USAGE = {
  service: 'bigquery.googleapis.com',
  metric: 'bigquery.googleapis.com/quota/query/usage',
  perUserLimit: '/d/project/user',
} as const;

/** The override value of a daily byte cap: the quota counts MiB (its default project limit, 200 TiB, reads 209715200). */
export const mibPerDay = (bytes: number): string => String(Math.floor(bytes / 2 ** 20));

/** google_service_usage_consumer_quota_override: a consumer's own lower limit on one quota. */
export class ConsumerQuotaOverride extends TerraformResource {
  constructor(
    scope: Construct,
    id: string,
    private readonly args: { project: string; service: string; metric: string; limit: string; overrideValue: string; force: boolean; provider: GoogleBetaProvider },
  ) {
    super(scope, id, {
      terraformResourceType: 'google_service_usage_consumer_quota_override',
      terraformGeneratorMetadata: { providerName: 'google-beta' },
      provider: args.provider,
    });
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    // The API takes the metric and the limit URL-encoded, as the provider's examples spell them (urlencode()).
    return {
      project: this.args.project,
      service: this.args.service,
      metric: encodeURIComponent(this.args.metric),
      limit: encodeURIComponent(this.args.limit),
      override_value: this.args.overrideValue,
      force: this.args.force,
    };
  }
}

export class QueryQuota extends Construct {
  readonly perPrincipal: ConsumerQuotaOverride;

  constructor(scope: Construct, id: string, props: { config: StackConfig; beta: GoogleBetaProvider }) {
    super(scope, id);
    this.perPrincipal = new ConsumerQuotaOverride(this, 'query-usage-per-user', {
      project: props.config.projectId,
      service: QUERY_USAGE.service,
      metric: QUERY_USAGE.metric,
      limit: QUERY_USAGE.perUserLimit,
      overrideValue: mibPerDay(props.config.bigquery.dailyQueryBytesPerPrincipal),
      force: true,
      provider: props.beta,
    });
  }
}
