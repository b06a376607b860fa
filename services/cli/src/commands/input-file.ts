// Checks an input file before a command touches any output, so a mistyped path costs nothing.
import { statSync } from 'node:fs';

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

/** The warning for a log every record of which was dead-lettered: it reads like clean traffic otherwise. */
export function allDeadLetteredHint(format: string, deadLetters: number, reasons: string): string {
  return `every one of ${deadLetters} records was dead-lettered (${reasons}) — is --format ${format} right for this log? (vigil --help lists the formats)`;
}
