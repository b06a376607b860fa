// The ingest stage on the in-memory bus: routing of good and bad records, acknowledgement only after every sink,
// and W3C trace context carried from the input record's headers to its outputs.
import { randomBytes } from 'node:crypto';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { adapterFor } from '@vigil/adapters';
import type { Sink, SinkRecord, SourceBatch } from '@vigil/connectors';
import { type AccessEvent, type DeadLetter, deadLetterSchema } from '@vigil/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptOriginal, REDACTED_DEAD_LETTERS } from './dead-letter.js';
import { createIngestHandler, parseBatch } from './ingest.js';

const pepper = { version: 1, secret: 'ingest-test-pepper-0123456789abcdef' };
const adapter = adapterFor('canonical', { pepper });

class HeldSink<T> implements Sink<T> {
  written: SinkRecord<T>[] = [];
  private release: (() => void)[] = [];
  constructor(private readonly hold: boolean) {}
  write(records: SinkRecord<T>[]): Promise<void> {
    this.written.push(...records);
    if (!this.hold) return Promise.resolve();
    return new Promise((resolve) => this.release.push(resolve));
  }
  releaseAll() {
    for (const r of this.release) r();
  }
  async close() {}
}

const good = (id: string) =>
  Buffer.from(
    JSON.stringify({
      ts: 1764320400000,
      request_id: id,
      method: 'GET',
      path: '/v1/accounts/7',
      status: 200,
      client_ip: '192.0.2.9',
      authorization: 'Bearer opaque-token-value-123456',
    }),
  );

function batch(values: Buffer[], headers: Record<string, string> = {}) {
  const acks: (Error | undefined)[] = [];
  const b: SourceBatch = {
    records: values.map((value, i) => ({
      value,
      key: null,
      headers,
      timestamp: 1764320401000,
      position: { topic: 'in', partition: 0, offset: String(i) },
    })),
    ack: (err) => acks.push(err),
    heartbeat: async () => {},
    poison: () => {},
  };
  return { b, acks };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('ingest', () => {
  const exporter = new InMemorySpanExporter();
  beforeAll(() => {
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    trace.setGlobalTracerProvider(provider);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  afterAll(() => {
    trace.disable();
    propagation.disable();
    context.disable();
  });

  it(
    'dead-letters a record its adapter fails on (unprocessable) ' +
      'and goes on; dead letters keep what the policy says',
    () => {
      const defect = (input: Uint8Array | string) => {
        if (String(input).includes('boom')) throw new TypeError("Cannot read properties of undefined (reading 'x')");
        return adapter.parse(input);
      };
      const throwing = { ...adapter, parse: defect };
      const records = batch([good('a'), Buffer.from('{"boom":1,"password":"hunter22"}'), good('b')]).b;
      const redacted = parseBatch(records, {
        adapterFor: () => throwing,
        deadLetters: REDACTED_DEAD_LETTERS,
        traceOneIn: 1000,
      });
      expect(redacted.events.map((e) => e.value.request_id)).toEqual(['a', 'b']);
      expect(redacted.deadLetters.map((d) => [d.value.reason, d.value.original_mode, d.value.source.offset])).toEqual([
        ['unprocessable', 'redacted', '1'],
      ]);
      expect(JSON.stringify(redacted.deadLetters)).not.toContain('hunter22');
      const key = randomBytes(32);
      const sealed = parseBatch(records, {
        adapterFor: () => throwing,
        deadLetters: { original: 'encrypted', encryptionKey: key },
        traceOneIn: 1000,
      });
      const letter = sealed.deadLetters[0]?.value;
      expect(letter?.original).toBeUndefined();
      expect(JSON.stringify(letter)).not.toContain('hunter22');
      expect(decryptOriginal(letter?.original_encrypted ?? '', key).toString()).toBe(
        '{"boom":1,"password":"hunter22"}',
      );
      expect(() => decryptOriginal(letter?.original_encrypted ?? '', randomBytes(32))).toThrow();
      const dropped = parseBatch(records, {
        adapterFor: () => throwing,
        deadLetters: { original: 'dropped' },
        traceOneIn: 1000,
      });
      expect(dropped.deadLetters[0]?.value).not.toHaveProperty('original');
      for (const d of [...redacted.deadLetters, ...sealed.deadLetters, ...dropped.deadLetters])
        expect(deadLetterSchema.safeParse(d.value).success).toBe(true);
    },
  );

  it(
    'routes events keyed by principal and failures to ' + 'the dead-letter sink, and acks only after every sink',
    async () => {
      const events = new HeldSink<AccessEvent>(true);
      const dead = new HeldSink<DeadLetter>(false);
      const analytics = new HeldSink<AccessEvent>(true);
      const handler = createIngestHandler({
        adapterFor: () => adapter,
        sinks: { events, deadLetters: dead, analytics },
        deadLetters: REDACTED_DEAD_LETTERS,
        traceOneIn: 1000,
      });
      const { b, acks } = batch([good('a'), Buffer.from('{"broken":'), good('b')]);
      await handler(b);
      await settle();
      expect(events.written.map((r) => r.value.request_id)).toEqual(['a', 'b']);
      expect(events.written[0]?.key).toMatch(/^fp:v1:[0-9a-f]{64}$/);
      expect(dead.written.map((r) => [r.value.reason, r.value.source.offset])).toEqual([['invalid_json', '1']]);
      expect(acks).toEqual([]);
      events.releaseAll();
      await settle();
      expect(acks).toEqual([]);
      analytics.releaseAll();
      await settle();
      expect(acks).toEqual([undefined]);
    },
  );

  it('passes a sink failure to the source instead of acknowledging', async () => {
    const failing: Sink<AccessEvent> = { write: () => Promise.reject(new Error('rejected')), close: async () => {} };
    const handler = createIngestHandler({
      adapterFor: () => adapter,
      sinks: { events: failing, deadLetters: new HeldSink<DeadLetter>(false) },
      deadLetters: REDACTED_DEAD_LETTERS,
      traceOneIn: 1000,
    });
    const { b, acks } = batch([good('c')]);
    await handler(b);
    await settle();
    expect(acks.map((e) => e?.message)).toEqual(['rejected']);
  });

  it('continues the trace of a record that arrived with a traceparent', async () => {
    const events = new HeldSink<AccessEvent>(false);
    const handler = createIngestHandler({
      adapterFor: () => adapter,
      sinks: { events, deadLetters: new HeldSink<DeadLetter>(false) },
      deadLetters: REDACTED_DEAD_LETTERS,
      traceOneIn: 1_000_000,
    });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await handler(batch([good('d')], { traceparent: `00-${traceId}-00f067aa0ba902b7-01` }).b);
    const out = events.written[0]?.headers?.traceparent;
    expect(out).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(
      exporter.getFinishedSpans().some((s) => s.spanContext().traceId === traceId && s.name === 'vigil.parse'),
    ).toBe(true);
  });
});
