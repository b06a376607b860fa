// ClickHouse sink: rows are buffered and inserted in batches by size and age; write() resolves once the insert
// holding its rows succeeded. While ClickHouse is down the insert is retried with backoff and nothing resolves,
// so the source stops committing and, past its limit, stops consuming: nothing is dropped. Redelivered rows are
// harmless because every table is a ReplacingMergeTree keyed by source position.
import type { ClickHouseClient } from '@clickhouse/client';
import { DEFAULT_RETRY, type RetryOptions, retriable, withRetry } from '@vigil/core';
import type { Sink, SinkRecord } from '../types.js';

export interface ClickHouseSinkOptions<T, Row> {
  table: string;
  toRow: (record: SinkRecord<T>) => Row | undefined;
  maxRows: number;
  maxAgeMs: number;
  retry?: RetryOptions;
  onRetry?: (err: unknown) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class ClickHouseSink<T, Row extends Record<string, unknown>> implements Sink<T> {
  private rows: Row[] = [];
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();

  constructor(
    private readonly client: ClickHouseClient,
    private readonly options: ClickHouseSinkOptions<T, Row>,
  ) {}

  write(records: SinkRecord<T>[]): Promise<void> {
    const rows = records.map(this.options.toRow).filter((r): r is Row => r !== undefined);
    if (rows.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      for (const row of rows) this.rows.push(row);
      this.waiters.push({ resolve, reject });
      // flush() never rejects: each insert settles its own waiters.
      if (this.rows.length >= this.options.maxRows) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.options.maxAgeMs);
    });
  }

  /** Sends what is buffered now. Inserts run one after another so a retrying insert holds back later ones. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.rows.length === 0) return this.chain;
    const rows = this.rows;
    const waiters = this.waiters;
    this.rows = [];
    this.waiters = [];
    this.chain = this.chain.then(async () => {
      try {
        await withRetry(
          async () => {
            try {
              await this.client.insert({ table: this.options.table, values: rows, format: 'JSONEachRow' });
            } catch (err) {
              throw retriable('clickhouse_insert', `cannot insert into ${this.options.table}`, err);
            }
          },
          this.options.retry ?? DEFAULT_RETRY,
          { signal: this.abort.signal, onRetry: (err) => this.options.onRetry?.(err) },
        );
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
    });
    return this.chain;
  }

  async close(): Promise<void> {
    await Promise.race([this.flush(), new Promise((r) => setTimeout(r, 5000))]);
    this.abort.abort(new Error('sink closed'));
  }
}
