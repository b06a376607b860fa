// JSON Lines files: a source that streams a file of any size in bounded memory (one batch of lines at a time)
// and a sink that writes one JSON value per line, honouring the stream's back-pressure.

import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Poisoned } from '../poison.js';
import type { Sink, SinkRecord, Source, SourceBatch } from '../types.js';

/** Splits a byte stream into lines without decoding it, so invalid UTF-8 reaches the adapter as it is. */
export async function* readLines(path: string): AsyncGenerator<Buffer> {
  let carry: Buffer | undefined;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0;
    let buf = carry ? Buffer.concat([carry, chunk]) : chunk;
    carry = undefined;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
      yield buf.subarray(start, end);
      start = nl + 1;
    }
    if (start < buf.length) carry = Buffer.from(buf.subarray(start));
    buf = Buffer.alloc(0);
  }
  if (carry && carry.length > 0) yield carry;
}

export class JsonlFileSource implements Source {
  private stopped = false;
  constructor(
    private readonly path: string,
    private readonly batchSize = 1024,
  ) {}

  /** Records handlers set aside as poison (offline commands report them). */
  readonly poisoned: Poisoned[] = [];

  async run(handler: (batch: SourceBatch) => Promise<void>): Promise<void> {
    let records: SourceBatch['records'] = [];
    let line = 0;
    const flush = async () => {
      const batch = records;
      records = [];
      await handler({
        records: batch,
        ack: () => {},
        heartbeat: async () => {},
        poison: (record, detail) => this.poisoned.push({ record, detail }),
      });
    };
    for await (const bytes of readLines(this.path)) {
      line++;
      if (this.stopped) break;
      if (bytes.length === 0) continue;
      records.push({ value: bytes, key: null, headers: {}, position: { file: this.path, line } });
      if (records.length >= this.batchSize) await flush();
    }
    if (records.length > 0) await flush();
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}

/** Why a file cannot be written, in words a user can act on (no stack trace, no internals). */
export function fileErrorMessage(path: string, err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return `cannot write ${path}: its directory does not exist`;
  if (code === 'ENOTDIR') return `cannot write ${path}: a part of the path is a file, not a directory`;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return `cannot write ${path}: permission denied`;
  if (code === 'EISDIR') return `cannot write ${path}: it is a directory`;
  if (code === 'ENOSPC') return `cannot write ${path}: no space left on the device`;
  return `cannot write ${path}${code ? ` (${code})` : ''}`;
}

/**
 * One JSON value per line. A regular file is written atomically: into a temporary file beside it, renamed over the
 * target by close(), so a run that fails before writing anything never empties a user's existing file; abort()
 * removes the temporary file instead, or with keep renames what was written (offline commands keep every good
 * record they had read when they fail). Devices (/dev/stdout) are written directly.
 */
export class JsonlFileSink<T> implements Sink<T> {
  private readonly stream: WriteStream;
  private readonly temp: string | undefined;
  private error: Error | undefined;
  private closed = false;
  constructor(private readonly path: string) {
    this.temp = path.startsWith('/dev/')
      ? undefined
      : join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
    this.stream = createWriteStream(this.temp ?? path, { flags: 'w' });
    // Without a listener a failed open is an unhandled 'error' event that ends the process with a stack trace.
    this.stream.on('error', (err) => {
      this.error ??= new Error(fileErrorMessage(path, err));
    });
  }
  async write(records: SinkRecord<T>[]): Promise<void> {
    if (this.error) throw this.error;
    let chunk = '';
    for (const r of records) chunk += `${JSON.stringify(r.value)}\n`;
    if (!this.stream.write(chunk)) {
      // Whichever comes first; the other listener is removed (left behind, one per full buffer, they piled up until
      // Node warned of a listener leak on long files).
      const settled = new AbortController();
      try {
        await Promise.race([
          once(this.stream, 'drain', { signal: settled.signal }),
          once(this.stream, 'close', { signal: settled.signal }),
        ]);
      } finally {
        settled.abort();
      }
    }
    if (this.error) throw this.error;
  }
  /** Finishes the file and puts it in place. */
  async close(): Promise<void> {
    await this.finish(true);
  }
  /** Ends a failed run: keep renames what was written into place, otherwise it is removed. Never throws. */
  async abort(keep = false): Promise<void> {
    await this.finish(keep).catch(() => undefined);
  }
  private async finish(keep: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.error) await new Promise<void>((resolve) => this.stream.end(() => resolve()));
    else this.stream.destroy();
    if (this.error) {
      if (this.temp) await rm(this.temp, { force: true }).catch(() => undefined);
      throw this.error;
    }
    if (this.temp === undefined) return;
    if (keep)
      await rename(this.temp, this.path).catch((err: unknown) =>
        Promise.reject(new Error(fileErrorMessage(this.path, err))),
      );
    else await rm(this.temp, { force: true });
  }
}
