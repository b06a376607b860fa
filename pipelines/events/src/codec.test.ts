import { describe, expect, it } from 'vitest';
import { decodeDecision, InvalidRecordError, primeDecisionCheck } from './codec.js';

describe('decision records', () => {
  it('primes the check at start on a record the schema accepts (a service would stop if it did not)', () => {
    expect(() => primeDecisionCheck()).not.toThrow();
  });

  it('refuses a record that is not a decision, naming the field, not its value', () => {
    const bad = Buffer.from(JSON.stringify({ ts: 1, request_id: 'secret-value' }));
    expect(() => decodeDecision(bad)).toThrow(InvalidRecordError);
    expect(() => decodeDecision(bad)).not.toThrow(/secret-value/);
  });
});
