import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrderedSends, type Outputs } from './ordered-sends.js';

/** A send that the test settles by hand, one request at a time. */
function manualSends() {
  const requests: { outputs: Outputs<number>; resolve: () => void; reject: (e: Error) => void }[] = [];
  let underWay = 0;
  let most = 0;
  const send = (outputs: Outputs<number>) =>
    new Promise<void>((resolve, reject) => {
      underWay++;
      most = Math.max(most, underWay);
      const end = () => underWay--;
      requests.push({
        outputs,
        resolve: () => {
          end();
          resolve();
        },
        reject: (e) => {
          end();
          reject(e);
        },
      });
    });
  return { requests, send, most: () => most };
}

const flush = () => new Promise((r) => setImmediate(r));

type Manual = ReturnType<typeof manualSends>;

/** One step of the property: an output added to topic a or b (numbered in order), a pump, or the next send ending. */
async function play(
  step: string,
  sends: OrderedSends<number>,
  m: Manual,
  added: Record<string, number[]>,
  acked: { n: number },
) {
  if (step === 'pump') sends.pump();
  else if (step === 'ack') {
    const request = m.requests[acked.n];
    if (request) {
      request.resolve();
      acked.n++;
    }
    await flush();
  } else {
    const n = (added.a?.length ?? 0) + (added.b?.length ?? 0);
    sends.add(step, n);
    added[step]?.push(n);
  }
}

/** Output 1 in a send under way, output 2 waiting behind it. */
function oneUnderWayOneWaiting() {
  const m = manualSends();
  const sends = new OrderedSends<number>(m.send);
  sends.add('a', 1);
  sends.pump();
  sends.add('a', 2);
  return { m, sends };
}

/**
 * Ends every send as it comes, until nothing waits: no pump from here, so each next send must be started by the end of
 * the one before it; and `settled()` must not have answered while a send was unanswered.
 */
async function ackAll(sends: OrderedSends<number>, m: Manual, acked: { n: number }, settled: () => boolean) {
  await flush();
  while (acked.n < m.requests.length) {
    expect(settled()).toBe(false);
    (m.requests[acked.n] as Manual['requests'][number]).resolve();
    acked.n++;
    await flush();
  }
  expect(sends.waiting).toBe(0);
}

describe('ordered sends', () => {
  it('sends one request at a time, what came meanwhile together, every output once and in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Steps: add an output to topic a or b, pump, or let the oldest send under way end.
        fc.array(fc.oneof(fc.constantFrom('a', 'b'), fc.constant('pump'), fc.constant('ack')), { maxLength: 60 }),
        async (steps) => {
          const m = manualSends();
          const sends = new OrderedSends<number>(m.send);
          const added: Record<string, number[]> = { a: [], b: [] };
          const acked = { n: 0 };
          for (const step of steps) await play(step, sends, m, added, acked);
          sends.pump();
          // Settling waits while any send is unanswered; each answered send starts the next by itself.
          let done = false;
          const settled = sends.settle().then((ok) => {
            done = true;
            return ok;
          });
          await ackAll(sends, m, acked, () => done);
          expect(await settled).toBe(true);
          expect(m.most()).toBeLessThanOrEqual(1);
          const sent: Record<string, number[]> = { a: [], b: [] };
          for (const r of m.requests) for (const [topic, list] of r.outputs) sent[topic]?.push(...list);
          expect(sent).toEqual(added);
        },
      ),
    );
  });

  it('after a failed send, sends nothing more and says so; settle answers false', async () => {
    const { m, sends } = oneUnderWayOneWaiting();
    sends.pump(); // a send is under way: 2 waits
    m.requests[0]?.reject(new Error('broker down'));
    await flush();
    expect(sends.failure?.error).toEqual(new Error('broker down'));
    sends.add('a', 3);
    sends.pump();
    expect(m.requests).toHaveLength(1); // neither 2 nor 3 overtakes the lost 1
    expect(await sends.settle()).toBe(false);
    expect(sends.waiting).toBe(2);
  });

  it('close waits for the send under way and sends nothing after it', async () => {
    const { m, sends } = oneUnderWayOneWaiting();
    let closed = false;
    const closing = sends.close().then(() => {
      closed = true;
    });
    await flush();
    expect(closed).toBe(false);
    m.requests[0]?.resolve();
    await closing;
    expect(closed).toBe(true);
    sends.pump();
    expect(m.requests).toHaveLength(1);
  });

  it('take hands over what waits (a transaction sends it) and leaves nothing to send', () => {
    const m = manualSends();
    const sends = new OrderedSends<number>(m.send);
    sends.add('a', 1);
    sends.add('b', 2);
    expect(sends.waiting).toBe(2);
    expect([...sends.take()]).toEqual([
      ['a', [1]],
      ['b', [2]],
    ]);
    expect(sends.waiting).toBe(0);
    sends.pump();
    expect(m.requests).toHaveLength(0);
  });
});
