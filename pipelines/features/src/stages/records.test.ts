import { InvalidRecordError } from '@vigil/events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENTITY_ROLES } from '../features/roles.js';
import { type EntityPart, entityPartCodec } from './records.js';

const codec = entityPartCodec(new Set(ENTITY_ROLES));

const parts: fc.Arbitrary<EntityPart> = fc.record({
  ts: fc.integer({ min: 0, max: 2 ** 45 }),
  request_id: fc.string({ minLength: 1, maxLength: 60, unit: 'grapheme' }),
  role: fc.constantFrom(...ENTITY_ROLES),
  v: fc.array(fc.double(), { maxLength: 40 }),
});

describe('the entity part codec', () => {
  it('gives back every part bit for bit (NaN, -0 and infinities included, which JSON loses)', () => {
    fc.assert(
      fc.property(parts, (p) => {
        const bytes = codec.encode(p) as Buffer;
        const back = codec.decode(bytes);
        expect(back).toEqual(p);
        for (const [i, x] of back.v.entries()) expect(Object.is(x, p.v[i])).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a truncated part, a trailing byte, a role no stage has and a newer version', () => {
    fc.assert(
      fc.property(parts, (p) => {
        const bytes = codec.encode(p) as Buffer;
        for (let n = 0; n < bytes.length; n++)
          expect(() => codec.decode(bytes.subarray(0, n))).toThrow(InvalidRecordError);
        expect(() => codec.decode(Buffer.concat([bytes, Buffer.from([1])]))).toThrow(InvalidRecordError);
      }),
      { numRuns: 50 },
    );
    const planet = codec.encode({ ts: 1, request_id: 'r', role: 'planet' as never, v: [1] }) as Buffer;
    expect(() => codec.decode(planet)).toThrow('part: role: not an entity role');
    const newer = Buffer.from(codec.encode({ ts: 1, request_id: 'r', role: 'ip', v: [] }) as Buffer);
    newer[2] = 9;
    expect(() => codec.decode(newer)).toThrow(/upgrade vigil/);
  });

  it('reads the JSON parts an earlier vigil wrote', () => {
    const p: EntityPart = { ts: 5, request_id: 'r1', role: 'ip', v: [0.5, 2] };
    expect(codec.decode(Buffer.from(JSON.stringify(p)))).toEqual(p);
    expect(() => codec.decode(Buffer.from('{"ts":5}'))).toThrow(InvalidRecordError);
  });
});
