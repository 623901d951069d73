// Holds the fast schema pre-check to zod: whenever fastEvent says "valid", zod must agree and
// return the same value; and the common valid events must take the fast path.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Event } from '../../../pipeline/contracts/events.js';
import { fastEvent } from '../../../pipeline/ingest/fast-schema.js';
import { inventory, order, pageView, promotion, track } from './fixtures.js';

const examples = [order, inventory, promotion, pageView, track];
const clone = <T>(v: T): T => structuredClone(v);

/** Every path to a value inside an example, e.g. ['body', 'line_items', 0, 'quantity']. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

const interesting = fc.oneof(
  fc.constantFrom<unknown>(
    undefined, null, true, 0, -0, -1, 1, 1.5, 2 ** 53, Infinity, NaN, '', ' ', 'x', 'EUR', 'eur', 'completed', 'refunded', 'cancelled', 'web',
    'other', 'a'.repeat(129), 'https://a.example/', ' https://a.example/', 'not a url', '2026-11-21T12:00:00Z', '2026-02-30T12:00:00Z',
    '2026-11-21T12:00:00', '203.0.113.1', '2001:db8::1', '::ffff:1.2.3.4', 'a\u0001b', [], {}, ['p-1'], [1], { x: 1 },
  ),
  fc.string({ maxLength: 70 }),
  fc.integer({ min: -5, max: 100_001 }),
  fc.double(),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Values at the edges of the schema's limits, derived from the value they replace. */
function neighbours(orig: unknown): unknown[] {
  if (typeof orig === 'string') return [64, 65, 128, 129, 200, 201, 512, 513, 2048, 2049].map((n) => orig.padEnd(n, 'a')).concat([`${orig} `, orig.toUpperCase(), orig.slice(1)]);
  if (typeof orig === 'number') return [orig - 1, orig + 1, -orig, 0, -1, 0.5, 100_000, 100_001, 1e9, 1e9 + 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2];
  if (Array.isArray(orig)) return [20, 21, 50, 51, 500, 501].map((n) => Array.from({ length: n }, (_, i) => structuredClone(orig[i % Math.max(1, orig.length)] ?? 'x')));
  if (orig && typeof orig === 'object') return [50, 51].map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])));
  return [];
}

const mutation = fc.record({
  example: fc.integer({ min: 0, max: examples.length - 1 }),
  pick: fc.nat(),
  value: interesting,
  neighbour: fc.option(fc.nat()),
  extraKey: fc.option(fc.string({ maxLength: 8 })),
  fixTotals: fc.boolean(),
});

/** Recomputes an order's totals from its line items, so a mutated item is not masked by the totals check. */
function fixTotals(event: unknown): void {
  const body = (event as { body?: Record<string, unknown> }).body;
  if (!body || !Array.isArray(body.line_items)) return;
  let gross = 0;
  let discount = 0;
  for (const li of body.line_items as Record<string, unknown>[]) {
    if (li && typeof li.quantity === 'number' && typeof li.unit_price_minor === 'number') gross += li.quantity * li.unit_price_minor;
    if (li && typeof li.discount_minor === 'number') discount += li.discount_minor;
  }
  body.gross_minor = gross;
  body.discount_minor = discount;
  body.net_minor = gross - discount;
}

function mutate(m: { example: number; pick: number; value: unknown; neighbour: number | null; extraKey: string | null; fixTotals: boolean }): unknown {
  const { example, pick, extraKey } = m;
  let value = m.value;
  const base = clone(examples[example]!()) as unknown;
  const all = paths(base).filter((p) => p.length > 0);
  const path = all[pick % all.length]!;
  let target = base as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) target = target[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (m.neighbour !== null) {
    const options = neighbours(target[last]);
    if (options.length > 0) value = options[m.neighbour % options.length];
  }
  if (value === undefined) delete target[last];
  else target[last] = value;
  if (extraKey !== null && target && typeof target === 'object' && !Array.isArray(target)) target[extraKey] = 1;
  if (m.fixTotals) fixTotals(base);
  return base;
}

describe('fastEvent', () => {
  it('takes the fast path for every valid example, with zod’s output', () => {
    for (const make of examples) {
      const input = make();
      assert.deepStrictEqual(fastEvent(clone(input)), Event.parse(input), input.event_type);
    }
  });

  it('takes the fast path for minimal events relying on defaults, with zod’s output', () => {
    const minimal = [
      { ...inventory(), body: { sku: 'A', quantity_on_hand: 1, delta: 1, reason: 'restock' } },
      { ...pageView(), body: { url: 'https://a.example/', visitor_id: 'v', session_id: 's' } },
      { ...track(), body: { name: 'x', visitor_id: 'v', session_id: 's' } },
      { ...promotion(), body: { promo_id: 'p', kind: 'display', starts_at: '2026-11-21T00:00:00Z', ends_at: '2026-11-22T00:00:00Z' } },
      { ...order(), body: { order_id: 'o', status: 'cancelled', channel: 'pos', fulfilment: 'pickup', currency: 'EUR' } },
    ];
    for (const input of minimal) assert.deepStrictEqual(fastEvent(clone(input)), Event.parse(input), input.event_type);
  });

  it('never calls an event valid that zod rejects, and returns zod’s value when it accepts', () => {
    fc.assert(
      fc.property(mutation, (m) => {
        const input = mutate(m);
        const fast = fastEvent(clone(input));
        const slow = Event.safeParse(clone(input));
        if (fast !== undefined) {
          assert.equal(slow.success, true, `fast path accepted what zod rejects: ${JSON.stringify(input)}`);
          assert.deepStrictEqual(fast, slow.data);
        }
      }),
      { numRuns: 4000, seed: 20261121 },
    );
  });

  it('answers "not sure" for values that are not objects', () => {
    for (const v of [null, 1, 'x', [], undefined]) assert.equal(fastEvent(v), undefined);
  });
});
