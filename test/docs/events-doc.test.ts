// Keeps docs/events.md and docs/events.schema.json in step with the code: every event example is
// valid, the POS CSV example converts, the tables list exactly the reason codes and CSV columns,
// the documented bot pattern is the one in force, and the JSON Schema file is current.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Event } from '../../pipeline/contracts/events.js';
import { REASON_CODES } from '../../pipeline/contracts/outcomes.js';
import { DEFAULT_BOT_PATTERN, DEFAULT_INGEST_CONFIG } from '../../pipeline/ingest/config.js';
import { POS_CSV_OPTIONAL_COLUMNS, POS_CSV_REQUIRED_COLUMNS, posCsvToEntries, splitJsonArrayBody, splitNdjson } from '../../pipeline/ingest/entries.js';
import { EVENT_SCHEMA_PATH, eventSchemaText } from '../../scripts/export-event-schema.js';

const doc = readFileSync(fileURLToPath(new URL('../../docs/events.md', import.meta.url)), 'utf8');

/** Fenced blocks as { info, text }, where info is everything after the opening backticks. */
function fences(markdown: string): { info: string; text: string }[] {
  const out: { info: string; text: string }[] = [];
  const re = /^```([^\n]*)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) out.push({ info: m[1]!.trim(), text: m[2]! });
  return out;
}

/** The first column of the markdown table that follows `heading` (a line of text above the table). */
function firstColumn(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(heading);
  assert.notEqual(start, -1, `no "${heading}" in docs/events.md`);
  const lines = markdown.slice(start).split('\n');
  const table = lines.slice(lines.findIndex((l) => l.startsWith('|')));
  const rows = table.slice(0, table.findIndex((l) => !l.startsWith('|'))).slice(2);
  return rows.map((r) => r.split('|')[1]!.trim().replace(/`/g, ''));
}

describe('docs/events.md', () => {
  const blocks = fences(doc);

  it('has a valid example of every event type, each passing the zod contract', () => {
    const examples = blocks.filter((b) => b.info === 'json event');
    const types = new Set<string>();
    for (const { text } of examples) {
      const result = Event.safeParse(JSON.parse(text));
      assert.equal(result.success, true, `${text}\n${JSON.stringify(result.error?.issues)}`);
      types.add(result.data!.event_type);
    }
    assert.deepStrictEqual([...types].sort(), ['inventory', 'order', 'page_view', 'promotion', 'track']);
  });

  it('shows transport examples that split into valid events', () => {
    const array = blocks.find((b) => b.info === 'json');
    assert.ok(array, 'no JSON array body example');
    const split = splitJsonArrayBody(array.text);
    assert.ok(split.ok);
    const ndjson = blocks.find((b) => b.info === '' && b.text.startsWith('{"event_id"'));
    assert.ok(ndjson, 'no NDJSON example');
    const lines = splitNdjson(ndjson.text);
    assert.deepStrictEqual(lines.map((l) => JSON.parse(l)), split.entries.map((e) => JSON.parse(e)));
    for (const e of lines) assert.equal(Event.safeParse(JSON.parse(e)).success, true, e);
  });

  it('has a POS CSV example that converts into valid order events with the totals it states', () => {
    const csv = blocks.find((b) => b.info === 'csv pos-example');
    assert.ok(csv, 'no POS CSV example');
    const events = posCsvToEntries(csv.text).map((e) => Event.parse(JSON.parse(e)));
    assert.deepStrictEqual(
      events.map((e) => (e.event_type === 'order' ? [e.event_id, e.body.status, e.body.line_items.length, e.body.gross_minor, e.body.discount_minor, e.body.net_minor, e.body.refund_minor] : [])),
      [
        ['pos-s001-T1-0042', 'completed', 2, 2600, 150, 2450, 0],
        ['pos-s001-T1-0043', 'completed', 1, 1290, 0, 1290, 0],
        ['pos-s001-T1-0040-r1', 'refunded', 0, 0, 0, 0, 450],
      ],
    );
  });

  it('lists exactly the POS CSV columns the converter reads', () => {
    assert.deepStrictEqual(firstColumn(doc, 'Required columns:'), [...POS_CSV_REQUIRED_COLUMNS]);
    assert.deepStrictEqual(firstColumn(doc, 'Optional columns:'), [...POS_CSV_OPTIONAL_COLUMNS]);
  });

  it('lists every reason code, in the order checks run', () => {
    assert.deepStrictEqual(firstColumn(doc, 'Checks run in this order'), [...REASON_CODES]);
  });

  it('documents the bot pattern and limits in force', () => {
    const bot = blocks.find((b) => b.info === 'text bot-pattern');
    assert.equal(bot?.text.trim(), DEFAULT_BOT_PATTERN);
    assert.equal(DEFAULT_INGEST_CONFIG.maxEventBytes, 65_536);
    assert.ok(doc.includes('over 64 KiB (65,536 bytes'));
    assert.equal(DEFAULT_INGEST_CONFIG.maxEventAgeMs, 7 * 24 * 3600 * 1000);
    assert.equal(DEFAULT_INGEST_CONFIG.futureSkewMs, 5 * 60 * 1000);
    assert.ok(doc.includes('The maximum age is 7 days and\nthe future skew 5 minutes'));
  });
});

describe('docs/events.schema.json', () => {
  it('is the current export of the zod contract (run scripts/export-event-schema.ts)', () => {
    assert.equal(readFileSync(EVENT_SCHEMA_PATH, 'utf8'), eventSchemaText());
  });
});
