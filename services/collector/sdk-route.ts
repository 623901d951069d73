// Serves the browser SDK from the collector's origin at a versioned path, /sdk/v1/tillstream.min.js
// (script tag) and /sdk/v1/tillstream.mjs (ES module). A path version's bytes never change, so browsers
// and CDNs may keep them for a year without asking again (`immutable`). Merchants' pages load it from
// their own origin, hence the cross-origin resource policy and CORS header that the ES module needs.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import express, { type Router } from 'express';
import { SDK_DIST, SDK_FILES, ensureSdkBuilt } from '../../sdk/build.js';
import { SDK_PATH_VERSION } from '../../sdk/src/version.js';

export const SDK_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** The script-tag bundle's path, for pages and docs. */
export const SDK_SCRIPT_PATH = `/sdk/${SDK_PATH_VERSION}/${SDK_FILES.iife}`;
export const SDK_MODULE_PATH = `/sdk/${SDK_PATH_VERSION}/${SDK_FILES.esm}`;

interface Asset {
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

export interface SdkRouterOptions {
  /** Where the bundles are; default sdk/dist, built on first use when missing or stale. */
  distDir?: string;
}

export function createSdkRouter(opts: SdkRouterOptions = {}): Router {
  const router = express.Router();
  let assets: Promise<Map<string, Asset>> | undefined;
  const load = async (): Promise<Map<string, Asset>> => {
    const dir = opts.distDir ?? SDK_DIST;
    if (!opts.distDir) await ensureSdkBuilt();
    const map = new Map<string, Asset>();
    for (const [path, file] of [[SDK_SCRIPT_PATH, SDK_FILES.iife], [SDK_MODULE_PATH, SDK_FILES.esm]] as const) {
      const body = await readFile(join(dir, file));
      map.set(path, { body, gzip: gzipSync(body, { level: 9 }), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
    }
    return map;
  };

  router.get([SDK_SCRIPT_PATH, SDK_MODULE_PATH], async (req, res, next) => {
    try {
      // Loaded once per process; a failed build is retried by the next request.
      assets ??= load().catch((err: unknown) => {
        assets = undefined;
        throw new Error('building the browser SDK bundle', { cause: err });
      });
      const asset = (await assets).get(req.path)!;
      res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
      res.setHeader('Cache-Control', SDK_CACHE_CONTROL);
      res.setHeader('ETag', asset.etag);
      res.setHeader('Vary', 'Accept-Encoding');
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
      if (req.fresh) {
        res.status(304).end();
        return;
      }
      const gzip = req.acceptsEncodings('gzip', 'identity') === 'gzip';
      const body = gzip ? asset.gzip : asset.body;
      if (gzip) res.setHeader('Content-Encoding', 'gzip');
      res.setHeader('Content-Length', String(body.length));
      res.end(body);
    } catch (err) {
      next(err);
    }
  });
  return router;
}
