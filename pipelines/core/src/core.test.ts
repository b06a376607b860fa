// Unit behaviour of the core's building blocks: the retry policy, and work one piece at a time.
import { describe, expect, it } from 'vitest';
import { nonRetriable, retriable } from './errors.js';
import { backoffDelay, withRetry } from './retry.js';
import { Serial } from './serial.js';

const fast = { initialDelayMs: 1, maxDelayMs: 4, multiplier: 2, maxAttempts: 10 };

describe('withRetry', () => {
  it('retries retriable errors until success', async () => {
    let calls = 0;
    const out = await withRetry(async () => {
      calls++;
      if (calls < 4) throw retriable('down', 'down');
      return 'ok';
    }, fast);
    expect([out, calls]).toEqual(['ok', 4]);
  });

  it('does not retry a non-retriable error', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw nonRetriable('bad', 'bad input');
      }, fast),
    ).rejects.toThrow('bad input');
    expect(calls).toBe(1);
  });

  it('keeps delays within [ceiling/2, ceiling] and under the cap', () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, maxAttempts: 5 };
    for (let attempt = 0; attempt < 10; attempt++) {
      const ceiling = Math.min(1000, 100 * 2 ** attempt);
      const d = backoffDelay(options, attempt);
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    }
  });
});

describe('Serial', () => {
  it('runs pieces in call order, one at a time, and a failure reaches only its own caller', async () => {
    const serial = new Serial();
    const log: string[] = [];
    const piece = (name: string, ms: number, fail = false) =>
      serial.run(async () => {
        log.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([piece('a', 5), piece('b', 1, true), piece('c', 1)]);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
