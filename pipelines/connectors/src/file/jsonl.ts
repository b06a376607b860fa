// JSON Lines files: a source that streams a file of any size in bounded memory (one batch of lines at a time)
// and a sink that writes one JSON value per line, honouring the stream's back-pressure.

import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
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

  async run(handler: (batch: SourceBatch) => Promise<void>): Promise<void> {
    let records: SourceBatch['records'] = [];
    let line = 0;
    const flush = async () => {
      const batch = records;
      records = [];
      await handler({ records: batch, ack: () => {}, heartbeat: async () => {} });
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

export class JsonlFileSink<T> implements Sink<T> {
  private readonly stream: WriteStream;
  constructor(path: string) {
    this.stream = createWriteStream(path, { flags: 'w' });
  }
  async write(records: SinkRecord<T>[]): Promise<void> {
    let chunk = '';
    for (const r of records) chunk += `${JSON.stringify(r.value)}\n`;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }
  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}
