// Writes docs/events.schema.json, the JSON Schema of the wire format, from the zod contract
// (pipeline/contracts/events.ts). Run `npx tsx scripts/export-event-schema.ts` after changing the
// contract; a test fails while the committed file is out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eventJsonSchema } from '../pipeline/contracts/events.js';

export const EVENT_SCHEMA_PATH = fileURLToPath(new URL('../docs/events.schema.json', import.meta.url));

/** The file's exact text: pretty-printed, with a trailing newline, so diffs stay readable. */
export function eventSchemaText(): string {
  const { $schema, ...rest } = eventJsonSchema() as { $schema?: string };
  const schema = { $schema, title: 'Tillstream event, schema version 1 (docs/events.md)', ...rest };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(EVENT_SCHEMA_PATH, eventSchemaText());
  console.error('wrote docs/events.schema.json');
}
