// Unit behaviour of the connector building blocks: ClickHouse batching and acknowledgement (against
// a recording client; the real server is exercised in test/integration), JSON Lines streaming.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { deadLetterSchema, decodeJson, InvalidRecordError } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import { ClickHouseSink } from './clickhouse/sink.js';
import { JsonlFileSink, readLines } from './file/jsonl.js';
import { MemoryBus } from './memory/bus.js';
import { poisonDeadLetter, poisonDetail } from './poison.js';
import { storeHandler } from './store-handler.js';
import type { SourceRecord } from './types.js';

const fast = { initialDelayMs: 1, maxDelayMs: 4, multiplier: 2, maxAttempts: 10 };

function recordingClient(failFirst: number) {
  const inserts: unknown[][] = [];
  let failures = failFirst;
  const client = {
    insert: async ({ values }: { values: unknown[] }) => {
      if (failures-- > 0) throw new Error('connection refused');
      inserts.push(values);
    },
  } as unknown as ClickHouseClient;
  return { client, inserts };
}

describe('ClickHouseSink', () => {
  const toRow = (r: { value: number }) => ({ v: r.value });

  it('batches by size and acknowledges each write once its insert succeeded', async () => {
    const { client, inserts } = recordingClient(0);
    const sink = new ClickHouseSink(client, { table: 't', toRow, maxRows: 3, maxAgeMs: 60_000, retry: fast });
    const a = sink.write([{ value: 1 }, { value: 2 }]);
    const b = sink.write([{ value: 3 }]);
    await Promise.all([a, b]);
    expect(inserts).toEqual([[{ v: 1 }, { v: 2 }, { v: 3 }]]);
    await sink.close();
  });

  it('flushes by age', async () => {
    const { client, inserts } = recordingClient(0);
    const sink = new ClickHouseSink(client, { table: 't', toRow, maxRows: 1000, maxAgeMs: 10, retry: fast });
    await sink.write([{ value: 7 }]);
    expect(inserts).toEqual([[{ v: 7 }]]);
  });

  it('holds the acknowledgement while the server is down and delivers after it returns', async () => {
    const { client, inserts } = recordingClient(3);
    const sink = new ClickHouseSink(client, { table: 't', toRow, maxRows: 1, maxAgeMs: 10, retry: fast });
    await sink.write([{ value: 1 }]);
    expect(inserts).toEqual([[{ v: 1 }]]);
  });
});

describe('readLines', () => {
  it(
    'streams lines across chunk boundaries, keeps bytes as ' + 'they are, handles CRLF and a last line without newline',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vigil-'));
      const file = join(dir, 'in.jsonl');
      const long = 'x'.repeat(3 << 20);
      writeFileSync(
        file,
        Buffer.concat([Buffer.from(`a\r\n${long}\n\n`), Buffer.from([0xff, 0x0a]), Buffer.from('last')]),
      );
      const lines: Buffer[] = [];
      for await (const l of readLines(file)) lines.push(Buffer.from(l));
      expect(lines.map((l) => l.length)).toEqual([1, long.length, 0, 1, 4]);
      expect(lines[3]?.[0]).toBe(0xff);
    },
  );
});

describe('poison records', () => {
  const record = (value: string, offset: string): SourceRecord => ({
    value: Buffer.from(value),
    key: null,
    headers: {},
    position: { topic: 't', partition: 2, offset },
  });

  it('a store handler sets a record its decoder refuses aside and stores the rest', async () => {
    const written: unknown[] = [];
    const poisoned: [string | undefined, string][] = [];
    let acked: Error | undefined | 'no' = 'no';
    const sink = {
      write: async (rs: { value: unknown }[]) => void written.push(...rs.map((r) => r.value)),
      close: async () => {},
    };
    const handler = storeHandler(sink, (r) => {
      const o = decodeJson(r.value) as { n?: number };
      if (typeof o.n !== 'number') throw new InvalidRecordError('n: not a number');
      return o;
    });
    await handler({
      records: [record('{"n":1}', '1'), record('{"n":"x"}', '2'), record('garbage', '3'), record('{"n":4}', '4')],
      ack: (err) => {
        acked = err;
      },
      heartbeat: async () => {},
      poison: (r, detail) => poisoned.push([r.position.offset, detail]),
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(written).toEqual([{ n: 1 }, { n: 4 }]);
    expect(poisoned).toEqual([
      ['2', 'n: not a number'],
      ['3', 'value: not valid JSON'],
    ]);
    expect(acked).toBeUndefined();
  });

  it('becomes a dead letter with its position and reason, its content dropped, valid against the schema', () => {
    const d = poisonDeadLetter('features', {
      record: record('{"password":"hunter2"}', '9'),
      detail: 'ts: not a finite number',
    });
    expect(deadLetterSchema.parse(d)).toEqual({
      reason: 'unprocessable',
      detail: 'ts: not a finite number',
      format: 'features',
      source: { topic: 't', partition: 2, offset: '9' },
      original_mode: 'dropped',
      original_bytes: 22,
    });
    expect(poisonDetail(new Error('ECONNREFUSED 10.0.0.3:9092'))).toBe('the stage failed on this record');
  });
});

describe('JsonlFileSink', () => {
  it(
    'replaces a file only on close, keeps what was written ' + 'on abort(true), and leaves the file alone on abort()',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vigil-jsonl-'));
      const path = join(dir, 'out.jsonl');
      writeFileSync(path, 'precious\n');
      const failed = new JsonlFileSink<number>(path);
      await failed.write([{ value: 1 }]);
      await failed.abort();
      expect(readFileSync(path, 'utf8')).toBe('precious\n');
      const partial = new JsonlFileSink<number>(path);
      await partial.write([{ value: 1 }, { value: 2 }]);
      await partial.abort(true);
      expect(readFileSync(path, 'utf8')).toBe('1\n2\n');
      const whole = new JsonlFileSink<number>(path);
      await whole.write([{ value: 3 }]);
      await whole.close();
      expect(readFileSync(path, 'utf8')).toBe('3\n');
      expect(readdirSync(dir)).toEqual(['out.jsonl']);
    },
  );

  it('says in words why a file cannot be written, instead of an unhandled stream error', async () => {
    const sink = new JsonlFileSink<number>('/nonexistent-dir/x/out.jsonl');
    await new Promise((r) => setTimeout(r, 20));
    await expect(sink.write([{ value: 1 }])).rejects.toThrow(
      'cannot write /nonexistent-dir/x/out.jsonl: its directory does not exist',
    );
  });
});

describe('MemoryBus', () => {
  it('keeps offsets where they were when what every reader read is trimmed', () => {
    const bus = new MemoryBus();
    bus.append(
      't',
      [0, 1, 2, 3, 4].map((n) => ({ value: n })),
    );
    bus.trim('t', 3);
    expect(bus.end('t')).toBe(5);
    expect(bus.topic<number>('t').map((r) => r.value)).toEqual([3, 4]);
    // Offsets below what is held read as nothing; the rest by their own offsets.
    expect(bus.read<number>('t', 1, 5).map((r) => r.value)).toEqual([3, 4]);
    expect(bus.read<number>('t', 4, 9).map((r) => r.value)).toEqual([4]);
    bus.append('t', [{ value: 5 }]);
    expect(bus.end('t')).toBe(6);
    bus.trim('t', 100);
    expect(bus.topic('t')).toEqual([]);
    expect(bus.end('t')).toBe(6);
    expect(bus.read('t', 0, 6)).toEqual([]);
  });
});
