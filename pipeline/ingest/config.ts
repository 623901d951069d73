// Ingest configuration: limits of the clock rule, the per-event size limit and the bot rule.
// Parsed once with zod at start-up; a bad value names its key.
import { z } from 'zod';
import { describeIssues } from '../errors.js';

/**
 * The documented bot rule (docs/events.md, "Bot traffic"): a `page_view` or `track` event from
 * source `web` whose user agent matches this pattern, case-insensitively, is rejected as `bot`.
 */
export const DEFAULT_BOT_PATTERN =
  '(?:bot|crawler|spider)\\b|crawl|slurp|headless|lighthouse|phantomjs|selenium|webdriver|puppeteer|playwright|pingdom|uptimerobot|facebookexternalhit|python-requests|curl/|wget/|go-http-client';

const DAY_MS = 24 * 60 * 60 * 1000;

export const IngestConfigSchema = z.strictObject({
  /** Events older than this (received_at − event_ts) are `event_too_old`, unless the message is a backfill. */
  maxEventAgeMs: z.int().positive().default(7 * DAY_MS),
  /** Events further ahead than this (event_ts − received_at) are `event_in_future`. */
  futureSkewMs: z.int().min(0).default(5 * 60 * 1000),
  /** Entries larger than this many UTF-8 bytes are `payload_too_large`. */
  maxEventBytes: z.int().min(1).default(64 * 1024),
  /** Source of the bot regex, matched case-insensitively against the user agent. */
  botPattern: z
    .string()
    .min(1)
    .default(DEFAULT_BOT_PATTERN)
    .refine((p) => {
      try {
        new RegExp(p, 'i');
        return true;
      } catch {
        return false;
      }
    }, 'must be a valid regular expression'),
});

export type IngestConfig = z.infer<typeof IngestConfigSchema>;

/** A parsed configuration with the bot regex compiled once. */
export interface ResolvedIngestConfig extends IngestConfig {
  botRegex: RegExp;
}

export function resolveIngestConfig(config: Partial<IngestConfig> = {}): ResolvedIngestConfig {
  const parsed = IngestConfigSchema.safeParse(config);
  if (!parsed.success) {
    const problems = describeIssues(parsed.error.issues);
    throw new Error(`invalid ingest configuration: ${problems}`);
  }
  return { ...parsed.data, botRegex: new RegExp(parsed.data.botPattern, 'i') };
}

export const DEFAULT_INGEST_CONFIG: ResolvedIngestConfig = resolveIngestConfig();
