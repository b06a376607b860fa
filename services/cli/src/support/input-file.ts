// What every offline command does around its work, so none can lose a user's file or report silent success: check
// the input before touching an output; write outputs atomically; when the run fails part-way, keep every good record
// read until then and say why; and refuse to call a log clean when none of it could be read.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A message saying why `path` cannot be read as an input file, or undefined when it can. */
export function inputFileProblem(path: string): string | undefined {
  try {
    const s = statSync(path);
    if (s.isDirectory()) return `${path} is a directory, not a log file`;
    return undefined;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') return `${path}: no such file`;
    if (code === 'EACCES' || code === 'EPERM') return `${path}: permission denied`;
    return `${path}: cannot be read${code ? ` (${code})` : ''}`;
  }
}

/** A message saying why `path` cannot be written as an output file, or undefined when it can (checked up front). */
export function outputFileProblem(path: string): string | undefined {
  if (path.startsWith('/dev/')) return undefined;
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) return `cannot write ${path}: ${dir} is not a directory`;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') return `cannot write ${path}: the directory ${dir} does not exist`;
    if (code === 'ENOTDIR') return `cannot write ${path}: a part of ${dir} is a file, not a directory`;
    return `cannot write ${path}: ${dir} cannot be read`;
  }
  try {
    // A real write, not access(2): root passes access() on /proc and read-only mounts, then fails (or loops) later.
    rmSync(mkdtempSync(join(dir, '.vigil-probe-')), { recursive: true, force: true });
  } catch {
    return `cannot write ${path}: files cannot be created in ${dir}`;
  }
  try {
    if (statSync(path).isDirectory()) return `cannot write ${path}: it is a directory`;
  } catch {
    // does not exist yet: fine
  }
  return undefined;
}

/**
 * The first problem with the given outputs (undefined ones skipped), said as `vigil COMMAND: …`; true when there was
 * one.
 */
export function reportOutputProblems(command: string, paths: (string | undefined)[]): boolean {
  for (const p of paths) {
    const problem = p === undefined ? undefined : outputFileProblem(p);
    if (problem) {
      process.stderr.write(`vigil ${command}: ${problem}\n`);
      return true;
    }
  }
  return false;
}

interface Output {
  close(): Promise<void>;
  abort(keep?: boolean): Promise<void>;
}

/**
 * Runs `work`, then puts the outputs in place. When it fails part-way the outputs keep what was written (every good
 * record read until then), the reason is said in one line — no stack trace, nothing of a record — and false
 * returned.
 */
export async function writeOutputs(
  command: string,
  outputs: (Output | undefined)[],
  work: () => Promise<void>,
  progress: () => string,
): Promise<boolean> {
  try {
    await work();
  } catch (err) {
    for (const o of outputs) await o?.abort(true);
    process.stderr.write(
      `vigil ${command}: stopped part-way: ${(err as Error).message.split('\n')[0]}; ` +
        `kept what was read until then — ${progress()}\n`,
    );
    return false;
  }
  for (const o of outputs) await o?.close();
  return true;
}

/** The exit status of a read log: 1, with the reason, when it held no records or none could be read. */
export function readStatus(
  command: string,
  input: string,
  format: string,
  events: number,
  deadLetters: number,
  reasons: string[],
): number {
  if (events > 0) return 0;
  if (deadLetters === 0) {
    process.stderr.write(`vigil ${command}: ${input} holds no records\n`);
    return 1;
  }
  process.stderr.write(
    `vigil ${command}: every one of ${deadLetters} records was dead-lettered (${reasons.join(', ')}) ` +
      `— is --format ${format} right for this log? (vigil --help lists the formats)\n`,
  );
  return 1;
}
