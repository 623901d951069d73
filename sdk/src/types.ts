// Types of the browser SDK. The events it sends are the wire contract's own input types
// (pipeline/contracts/events.ts), imported as types only: the bundle carries no zod.
import type { EventInput } from '../../pipeline/contracts/events.js';

export type PageViewEvent = Extract<EventInput, { event_type: 'page_view' }>;
export type TrackEvent = Extract<EventInput, { event_type: 'track' }>;
/** What the SDK sends: page views and custom track events, source `web`. */
export type WebEvent = PageViewEvent | TrackEvent;
/** Custom event properties: at most 50, names up to 64 characters, strings up to 512. */
export type Properties = NonNullable<TrackEvent['body']['properties']>;
export type Device = NonNullable<PageViewEvent['body']['device']>;

export interface InitOptions {
  merchantId: string;
  /** The collector's base URL, e.g. `https://collect.example.com`. */
  endpoint: string;
  /** The publishable browser key (`tsb_…`), bound to the site's origins. Never an ingest key. */
  key: string;
  /** `pending`: nothing is stored or sent until grantConsent(). Default `granted`. */
  consent?: 'granted' | 'pending';
  storeId?: string;
  /** Send a page view on load and on every single-page-app navigation. Default true. */
  autoPageViews?: boolean;
  /** Events per request. Default 20. */
  batchSize?: number;
  /** How long events wait for company before a request, ms. Default 1000. */
  flushInterval?: number;
  /** Events kept while the collector cannot be reached; the oldest go first. Default 500. */
  maxQueue?: number;
  /** Longest wait between retries, ms. Default 30000. */
  maxRetryDelay?: number;
}
