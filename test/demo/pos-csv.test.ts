// POS batches of the demo workload as CSV files: read back by the ingest converter, they are the same events.
import assert from 'node:assert/strict';
import { Event } from '../../pipeline/contracts/events.js';
import { posCsvToEntries } from '../../pipeline/ingest/entries.js';
import { generateWorkload } from '../../demo/generator.js';
import { posBatchCsv } from '../../demo/pos-csv.js';

describe('demo/pos-csv', () => {
  it('writes every POS batch as a CSV that posCsvToEntries turns back into the same events', () => {
    const w = generateWorkload({ events: 4000, seed: 'csv', anchor: '2026-11-21T12:00:00Z' });
    let orders = 0;
    let refunds = 0;
    for (const b of w.posBatches) {
      const lines = w.entries.slice(b.first_entry, b.first_entry + b.count);
      const back = posCsvToEntries(posBatchCsv(lines));
      assert.deepStrictEqual(
        back.map((l) => Event.parse(JSON.parse(l))),
        lines.map((l) => Event.parse(JSON.parse(l))),
      );
      for (const l of lines) (l.includes('"status":"completed"') ? orders++ : refunds++);
    }
    assert.ok(orders > 100 && refunds > 0, `${orders} orders, ${refunds} refunds`);
  });

  it('writes one row per line item and quotes only where needed', () => {
    const order = {
      event_id: 'e-1',
      merchant_id: 'pizzaroma',
      event_type: 'order',
      event_ts: '2026-11-21T12:03:00+05:30',
      source: 'pos',
      schema_version: 1,
      store_id: 'mumbai-1',
      body: {
        order_id: 'PR-1',
        status: 'completed',
        channel: 'pos',
        fulfilment: 'dine_in',
        currency: 'USD',
        line_items: [
          { sku: 'PZ-MARG-L', category: 'pizza', quantity: 2, unit_price_minor: 1169, discount_minor: 351 },
          { sku: 'DR, "large"', category: 'drinks', quantity: 1, unit_price_minor: 249, discount_minor: 0 },
        ],
        gross_minor: 2587,
        discount_minor: 451,
        net_minor: 2136,
        refund_minor: 0,
        promo_ids: ['pz-two-for-tuesday', 'coupon-7'],
      },
    };
    assert.equal(
      posBatchCsv([JSON.stringify(order)]),
      [
        'merchant_id,order_id,event_id,event_ts,status,channel,fulfilment,currency,sku,category,quantity,unit_price_minor,store_id,source,delivery_partner,line_discount_minor,order_discount_minor,refund_minor,promo_ids,client_ip,visitor_id,session_id',
        'pizzaroma,PR-1,e-1,2026-11-21T12:03:00+05:30,completed,pos,dine_in,USD,PZ-MARG-L,pizza,2,1169,mumbai-1,pos,,351,100,,pz-two-for-tuesday;coupon-7,,,',
        'pizzaroma,PR-1,e-1,2026-11-21T12:03:00+05:30,completed,pos,dine_in,USD,"DR, ""large""",drinks,1,249,mumbai-1,pos,,,100,,pz-two-for-tuesday;coupon-7,,,',
        '',
      ].join('\n'),
    );
    assert.deepStrictEqual(Event.parse(JSON.parse(posCsvToEntries(posBatchCsv([JSON.stringify(order)]))[0]!)), Event.parse(order));
  });
});
