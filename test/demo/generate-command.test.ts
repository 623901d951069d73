// `tillstream generate`: argument parsing with clear errors, and the three files it writes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DimensionsFile } from '../../pipeline/contracts/dimensions.js';
import { runGenerateCommand, type CommandIo } from '../../demo/generate-command.js';
import { workloadPaths, type ManifestFile } from '../../demo/files.js';
import { generateWorkload } from '../../demo/generator.js';

function capture(): CommandIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (t: string) => {
      io.out += t;
    },
    stderr: (t: string) => {
      io.err += t;
    },
  };
  return io;
}

describe('demo/generate-command', function () {
  this.timeout(30_000);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tillstream-generate-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the dimensions and manifest files after the events file without its extension', () => {
    assert.deepStrictEqual(workloadPaths(join('data', 'demo.ndjson')), {
      events: join('data', 'demo.ndjson'),
      dimensions: join('data', 'demo.dimensions.json'),
      manifest: join('data', 'demo.manifest.json'),
    });
    assert.deepStrictEqual(workloadPaths('events'), { events: 'events', dimensions: 'events.dimensions.json', manifest: 'events.manifest.json' });
  });

  it('writes events, dimensions and manifest equal to the in-memory workload, progress on stderr, a JSON summary on stdout', async () => {
    const io = capture();
    const out = join(dir, 'nested', 'demo.ndjson');
    const code = await runGenerateCommand(['--out', out, '--events', '1500', '--merchants', '2', '--seed', 'cli', '--anchor', '2026-11-21T12:00:00+01:00'], io);
    assert.equal(code, 0, io.err);
    const w = generateWorkload({ events: 1500, merchants: 2, seed: 'cli', anchor: '2026-11-21T11:00:00Z' });
    assert.equal(readFileSync(out, 'utf8'), `${w.entries.join('\n')}\n`);
    const dims = JSON.parse(readFileSync(join(dir, 'nested', 'demo.dimensions.json'), 'utf8'));
    assert.deepStrictEqual(DimensionsFile.parse(dims), w.dimensions);
    const manifest = JSON.parse(readFileSync(join(dir, 'nested', 'demo.manifest.json'), 'utf8')) as ManifestFile;
    assert.deepStrictEqual(manifest, { ...w.manifest, files: { events: 'demo.ndjson', dimensions: 'demo.dimensions.json' }, pos_batches: w.posBatches });
    assert.deepStrictEqual(readdirSync(join(dir, 'nested')).sort(), ['demo.dimensions.json', 'demo.manifest.json', 'demo.ndjson']);
    const summary = JSON.parse(io.out.trim().split('\n').pop()!);
    assert.deepStrictEqual(summary, {
      events_file: out,
      dimensions_file: join(dir, 'nested', 'demo.dimensions.json'),
      manifest_file: join(dir, 'nested', 'demo.manifest.json'),
      events: 1500,
      anchor: '2026-11-21T11:00:00.000Z',
      expected: w.manifest.expected,
    });
    assert.match(io.err, /generate: 1500\/1500 entries \(100%\)/);
  });

  const usageCases: [string[], RegExp][] = [
    [[], /--out F is required/],
    [['--out'], /--out/],
    [['--out', 'x.ndjson', '--events', 'many'], /--events must be a whole number, got "many"/],
    [['--out', 'x.ndjson', '--events', '-5'], /--events/],
    [['--out', 'x.ndjson', '--merchants', '200000'], /--merchants must be between 0 and 100000, got 200000/],
    [['--out', 'x.ndjson', '--anchor', '2026-11-21 12:00'], /--anchor must be an ISO 8601 instant with an offset/],
    [['--out', 'x.ndjson', '--anchor', '2026-11-21T12:00:00'], /--anchor must be an ISO 8601 instant with an offset/],
    [['--out', 'x.ndjson', '--colour', 'red'], /Unknown option '--colour'/],
    [['--out', 'x.ndjson', 'extra'], /Unexpected argument 'extra'/],
    [['--out', 'x.ndjson', '--late', '0.7'], /--late must be a fraction from 0 to 0.5, got "0.7"/],
    [['--out', 'x.ndjson', '--duplicates', 'lots'], /--duplicates must be a fraction from 0 to 0.5, got "lots"/],
    [['--out', 'x.ndjson', '--duplicates', '0.3', '--malformed', '0.3'], /--duplicates and --malformed together must not exceed 0.5/],
  ];
  for (const [argv, message] of usageCases) {
    it(`exits 2 with a clear message and the usage for: ${argv.join(' ') || '(no arguments)'}`, async () => {
      const io = capture();
      assert.equal(await runGenerateCommand(argv, io), 2);
      assert.match(io.err, message);
      assert.match(io.err, /usage: tillstream generate --out F/);
      assert.equal(io.out, '');
    });
  }

  it('passes the shares through: no duplicates, a tenth malformed', async () => {
    const io = capture();
    const out = join(dir, 'shares.ndjson');
    assert.equal(await runGenerateCommand(['--out', out, '--events', '1000', '--duplicates', '0', '--malformed', '0.1', '--late', '0', '--anchor', '2026-11-21T12:00:00Z'], io), 0, io.err);
    const manifest = JSON.parse(readFileSync(join(dir, 'shares.manifest.json'), 'utf8')) as ManifestFile;
    assert.deepStrictEqual(manifest.shares, { duplicates: 0, malformed: 0.1, late: 0 });
    assert.equal(manifest.expected.duplicates, 0);
    assert.equal(manifest.late, 0);
    const { files: _files, pos_batches: _batches, ...counts } = manifest;
    assert.deepStrictEqual(counts, generateWorkload({ events: 1000, shares: { duplicates: 0, malformed: 0.1, late: 0 }, anchor: '2026-11-21T12:00:00Z' }).manifest);
  });

  it('prints the usage on --help and exits 0', async () => {
    const io = capture();
    assert.equal(await runGenerateCommand(['--help'], io), 0);
    assert.match(io.out, /^usage: tillstream generate --out F \[--events N\] \[--merchants N\] \[--seed S\] \[--anchor T\]/);
  });

  it('exits 1 and leaves no partial files when the output cannot be written', async () => {
    const io = capture();
    const blocker = join(dir, 'file');
    await runGenerateCommand(['--out', blocker, '--events', '10', '--anchor', '2026-11-21T12:00:00Z'], capture());
    const code = await runGenerateCommand(['--out', join(blocker, 'inside.ndjson'), '--events', '10'], io);
    assert.equal(code, 1);
    assert.match(io.err, /^tillstream generate: writing the workload to .*inside\.ndjson failed: (EEXIST|ENOTDIR)/);
    assert.deepStrictEqual(readdirSync(dir).sort(), ['file', 'file.dimensions.json', 'file.manifest.json']);
  });
});
