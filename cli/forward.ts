// Other `tillstream` commands reach a running `tillstream start` through its loopback command endpoint
// (services/local-command.ts). This side runs a forwarded command line in the server's process
// (runForwarded, the endpoint's dispatch) and sends one from another process (forwardCommand), with
// every path argument made absolute first: the two processes need not share a working directory.
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { errorDetail } from '../pipeline/errors.js';
import type { LocalPipeline } from '../runtime/local-writer.js';
import { LOCAL_COMMAND_PATH, localCommandProof, type ForwardedResult } from '../services/local-command.js';
import { isUsageError, type Command, type CommandContext } from './context.js';

export interface ForwardableCommand {
  run: Command;
  /** Needs the data directory (and goes through a running `tillstream start` when there is one). */
  usesDataDir: boolean;
  /** Which arguments name files: options taking a path (`--file`), and positions of path operands. */
  paths?: { options?: string[]; positions?: number[] };
}

/** The command line (name first) with each path argument of the command resolved against `cwd`. */
export function withAbsolutePaths(spec: ForwardableCommand, argv: readonly string[], cwd: string): string[] {
  const [name, ...rest] = argv;
  const options = spec.paths?.options ?? [];
  const positions = new Set(spec.paths?.positions ?? []);
  const abs = (p: string) => (p === '' || isAbsolute(p) ? p : resolve(cwd, p));
  const out: string[] = [];
  let operand = 0;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const option = options.find((o) => arg === o || arg.startsWith(`${o}=`));
    if (option && arg === option && i + 1 < rest.length) {
      out.push(arg, abs(rest[++i]!));
    } else if (option && arg !== option) {
      out.push(`${option}=${abs(arg.slice(option.length + 1))}`);
    } else if (arg.startsWith('-')) {
      out.push(arg);
    } else {
      out.push(positions.has(operand++) ? abs(arg) : arg);
    }
  }
  return [name!, ...out];
}

/** Runs a forwarded command line against the running process's pipeline; undefined if it may not be forwarded. */
export async function runForwarded(commands: Readonly<Record<string, ForwardableCommand>>, rt: LocalPipeline, argv: readonly string[]): Promise<ForwardedResult | undefined> {
  const [name, ...rest] = argv;
  const spec = commands[name!];
  if (!spec || !spec.usesDataDir || name === 'start') return undefined;
  const result: ForwardedResult = { exit: 0, stdout: [], stderr: [] };
  const ctx: CommandContext = { runtime: async () => rt, out: (l) => result.stdout.push(l), err: (l) => result.stderr.push(l) };
  try {
    result.exit = await spec.run(rest, ctx);
  } catch (err) {
    // The same line and exit code as the command run in its own process (cli/main.ts).
    result.stderr.push(`tillstream ${name}: ${isUsageError(err) ? err.message : errorDetail(err)}`);
    result.exit = isUsageError(err) ? 2 : 1;
  }
  return result;
}

export async function forwardCommand(url: string, pepperFile: string, argv: string[]): Promise<ForwardedResult> {
  const pepper = await readFile(pepperFile);
  const res = await fetch(new URL(LOCAL_COMMAND_PATH, url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tillstream-local': localCommandProof(pepper) },
    body: JSON.stringify({ argv }),
  });
  if (!res.ok) throw new Error(`the running tillstream at ${url} refused the command (HTTP ${res.status})`);
  return (await res.json()) as ForwardedResult;
}
