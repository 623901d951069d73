import assert from 'node:assert/strict';
import { Rng } from '../../demo/random.js';

describe('demo random', () => {
  it('makes a uuid of the 16 bytes hex(16) draws, cut 8-4-4-4-12 with version 4 and the RFC 4122 variant', () => {
    const rng = new Rng('uuid-test');
    const twin = new Rng('uuid-test');
    for (let i = 0; i < 20_000; i++) {
      const h = twin.hex(16);
      const variant = ((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
      const id = rng.uuid();
      assert.equal(id, `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(18, 20)}-${h.slice(20, 32)}`);
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    // The two generators drew the same numbers: what follows is the same too.
    assert.equal(rng.next(), twin.next());
  });
});
