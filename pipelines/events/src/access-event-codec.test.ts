import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { type AccessEvent, accessEventSchema, GATEWAY_FORMATS } from './access-event.js';
import { accessEventCodec } from './access-event-codec.js';
import { InvalidRecordError } from './codec.js';

/**
 * An event with every field the zod schema has, each with a value of its type (found by asking the schema): a field
 * added to the schema and not to the codec does not come back, and the test that uses it fails.
 */
function everyField(schema: z.ZodType): unknown {
  const candidates = [1, 'x1', `v1:${'0'.repeat(64)}`, ['a', 'b']];
  const def = (schema as unknown as { def: { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType> } })
    .def;
  if (def.type === 'optional') return everyField(def.innerType as z.ZodType);
  if (def.type === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(def.shape ?? {})) out[k] = everyField(v);
    return out;
  }
  if (def.type === 'enum') return (schema as z.ZodEnum).options[0];
  return candidates.find((c) => schema.safeParse(c).success) ?? fail(def.type);
}
const fail = (type: string) => {
  throw new Error(`no test value for a zod ${type}`);
};

const text = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' });
const num = fc.double({ noNaN: true, noDefaultInfinity: true });
const int = fc.integer({ min: 0, max: 2 ** 40 });

/** Valid access events with any mix of optional fields, non-ASCII text included, keys in the adapters' order. */
const events: fc.Arbitrary<AccessEvent> = fc
  .record(
    {
      ts: int,
      request_id: text,
      gateway: fc.constantFrom(...GATEWAY_FORMATS),
      method: fc.constantFrom('GET', 'POST', 'DELETE'),
      path: text,
      route: text,
      object_ids: fc.array(fc.string({ maxLength: 30 }), { maxLength: 5 }),
      query_keys: fc.array(fc.string({ maxLength: 30 }), { maxLength: 5 }),
      status: fc.integer({ min: 0, max: 999 }),
      client_ip: text,
      principal: fc.record(
        {
          sub: text,
          jti: text,
          sid: text,
          iat: int,
          exp: int,
          client_id: text,
          consumer_id: text,
          credential_id: text,
          username: text,
          token_fingerprint: fc.stringMatching(/^v1:[0-9a-f]{64}$/),
          client_ip: text,
        },
        { requiredKeys: [] },
      ),
      latency_ms: num.map(Math.abs),
      bytes_in: int,
      bytes_out: int,
      user_agent: fc.string({ maxLength: 300, unit: 'binary' }),
      host: fc.string({ maxLength: 30 }),
      service: fc.string({ maxLength: 30 }),
      tls_client_fingerprint: fc.string({ maxLength: 30 }),
      login: fc.record({ username: text, grant_type: text, client_id: text }, { requiredKeys: [] }),
      tx: fc.record(
        { amount: num, currency: fc.string({ minLength: 1, maxLength: 8 }), payee_id: text, account_id: text },
        { requiredKeys: ['amount'] },
      ),
    },
    {
      requiredKeys: [
        'ts',
        'request_id',
        'gateway',
        'method',
        'path',
        'route',
        'object_ids',
        'query_keys',
        'status',
        'client_ip',
        'principal',
      ],
    },
  )
  .filter((e) => accessEventSchema.safeParse(e).success);

describe('the access event codec', () => {
  it('gives back an event with every field the schema has (a field the codec misses fails here)', () => {
    const full = accessEventSchema.parse(everyField(accessEventSchema)) as AccessEvent;
    for (const o of [full, full.principal, full.login, full.tx] as object[])
      expect(Object.values(o).every((v) => v !== undefined)).toBe(true);
    expect(accessEventCodec.decode(accessEventCodec.encode(full) as Buffer)).toEqual(full);
  });

  it('gives back every valid event as it was, keys in the same order, in fewer bytes than its JSON', () => {
    fc.assert(
      fc.property(events, (e) => {
        const bytes = accessEventCodec.encode(e) as Buffer;
        const back = accessEventCodec.decode(bytes);
        expect(back).toEqual(e);
        expect(JSON.stringify(back)).toBe(JSON.stringify(e));
        expect(bytes.length).toBeLessThan(Buffer.byteLength(JSON.stringify(e)));
      }),
      { numRuns: 500 },
    );
  });

  it('reads the JSON that earlier versions wrote, checked as before', () => {
    fc.assert(
      fc.property(events, (e) => {
        const json = JSON.stringify(e);
        expect(accessEventCodec.decode(Buffer.from(json))).toEqual(JSON.parse(json));
      }),
      { numRuns: 50 },
    );
    expect(() => accessEventCodec.decode(Buffer.from('{"ts":"not a time"}'))).toThrow(InvalidRecordError);
  });

  it('refuses every truncated record, a trailing byte, another kind and a newer version, naming no value', () => {
    fc.assert(
      fc.property(events, (e) => {
        const bytes = accessEventCodec.encode(e) as Buffer;
        for (let n = 0; n < bytes.length; n++) {
          expect(() => accessEventCodec.decode(bytes.subarray(0, n)), `${n} of ${bytes.length}`).toThrow(
            InvalidRecordError,
          );
        }
        expect(() => accessEventCodec.decode(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(/trailing/);
      }),
      { numRuns: 40 },
    );
    const bytes = accessEventCodec.encode(fc.sample(events, { numRuns: 1, seed: 7 })[0] as AccessEvent) as Buffer;
    const newer = Buffer.from(bytes);
    newer[2] = 2;
    expect(() => accessEventCodec.decode(newer)).toThrow(/version 2, newer than this reader's 1: upgrade vigil/);
    const other = Buffer.from(bytes);
    other[1] = 2;
    expect(() => accessEventCodec.decode(other)).toThrow(/another kind/);
  });

  it('on a corrupted record, throws InvalidRecordError and nothing else, or gives an event with sane numbers', () => {
    fc.assert(
      fc.property(
        events,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (e, flips) => {
          const bytes = Buffer.from(accessEventCodec.encode(e) as Buffer);
          for (const [at, v] of flips) bytes[3 + (at % (bytes.length - 3))] = v;
          try {
            const back = accessEventCodec.decode(bytes);
            expect(Number.isInteger(back.status) && back.status >= 0 && back.status <= 999).toBe(true);
            expect(Number.isFinite(back.ts)).toBe(true);
          } catch (err) {
            expect(err).toBeInstanceOf(InvalidRecordError);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
