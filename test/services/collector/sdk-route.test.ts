// The SDK bundle route of the collector: caching, compression and versioned paths.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import express from 'express';
import request from 'supertest';
import { SDK_DIST, SDK_FILES } from '../../../sdk/build.js';
import { SDK_CACHE_CONTROL, SDK_MODULE_PATH, SDK_SCRIPT_PATH, createSdkRouter } from '../../../services/collector/sdk-route.js';

describe('sdk route', () => {
  const app = express().use(createSdkRouter());

  it('serves the script-tag bundle at /sdk/v1/ with immutable year-long caching and cross-origin headers', async () => {
    assert.equal(SDK_SCRIPT_PATH, '/sdk/v1/tillstream.min.js');
    const res = await request(app).get(SDK_SCRIPT_PATH).set('Accept-Encoding', 'identity').buffer(true);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(SDK_CACHE_CONTROL, res.headers['cache-control']);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.equal(res.headers['cross-origin-resource-policy'], 'cross-origin');
    assert.equal(res.headers['content-encoding'], undefined);
    // Built on first use when missing, then served as built.
    assert.deepEqual(Buffer.from(res.text), await readFile(join(SDK_DIST, SDK_FILES.iife)));
  });

  it('serves the ES module and answers gzip to clients that take it', async () => {
    const res = await request(app)
      .get(SDK_MODULE_PATH)
      .set('Accept-Encoding', 'gzip')
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers.vary, 'Accept-Encoding');
    // The client decodes the body; the length on the wire is the gzipped one.
    const raw = await readFile(join(SDK_DIST, SDK_FILES.esm));
    assert.deepEqual(res.body, raw);
    assert.equal(Number(res.headers['content-length']), gzipSync(raw, { level: 9 }).length);
  });

  it('answers 304 to a revalidation with the same ETag', async () => {
    const first = await request(app).get(SDK_SCRIPT_PATH);
    const etag = first.headers.etag as string;
    assert.match(etag, /^"[A-Za-z0-9_-]{27}"$/);
    const again = await request(app).get(SDK_SCRIPT_PATH).set('If-None-Match', etag);
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
  });

  it('serves nothing under other versions', async () => {
    assert.equal((await request(app).get('/sdk/v2/tillstream.min.js')).status, 404);
    assert.equal((await request(app).get('/sdk/v1/other.js')).status, 404);
  });
});
