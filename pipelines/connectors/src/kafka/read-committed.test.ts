// kafkajs drops a read-committed fetch's aborted records itself (consumer/filterAbortedMessages.js), and vigil's
// exactly-once stages, restores and readers rely on it. kafkajs 2.2.4 took the broker's list of aborted
// transactions as sorted by first offset; the broker lists them in the order their markers were written. Patched
// (patches/kafkajs+2.2.4.patch, applied by `npm ci`): this is the fetch, offsets and producer ids as the broker
// returned them, that let a restored stage's aborted checkpoint through before.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

type Aborted = { producerId: string; firstOffset: string };
type Msg = { offset: string; key: Buffer | null; isControlRecord?: boolean; batchContext: Record<string, unknown> };
const filterAbortedMessages = createRequire(import.meta.url)('kafkajs/src/consumer/filterAbortedMessages.js') as (a: {
  messages: Msg[];
  abortedTransactions: Aborted[];
}) => Msg[];

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);
/** `pid:t` a transactional record, `pid:A` / `pid:C` an abort / commit marker, offsets from 0. */
function messages(spec: string): Msg[] {
  return spec.split(' ').map((s, offset) => {
    const [pid, kind] = s.split(':') as [string, string];
    const control = kind === 'A' || kind === 'C';
    return {
      offset: String(offset),
      key: control ? (kind === 'A' ? ABORT : COMMIT) : Buffer.from('k'),
      isControlRecord: control,
      batchContext: { producerId: pid, inTransaction: true },
    };
  });
}

describe('read committed, as kafkajs filters it', () => {
  it("drops an aborted transaction whose marker the broker listed after another producer's", () => {
    // Three stages' sweeps (a fence each, aborted), producer 6's checkpoint left open by a restarted broker, then
    // producer 14's and 6's sweeps after the restart (6's abort ends its old checkpoint too), then 6's next checkpoint.
    const msgs = messages('6:t 6:A 10:t 10:A 14:t 14:A 6:t 6:t 6:t 6:t 6:t 14:t 14:A 6:t 6:A 10:t 10:A 6:t 6:t 6:C');
    const aborted = [
      { producerId: '6', firstOffset: '0' },
      { producerId: '10', firstOffset: '2' },
      { producerId: '14', firstOffset: '4' },
      { producerId: '14', firstOffset: '11' },
      { producerId: '6', firstOffset: '6' },
      { producerId: '10', firstOffset: '15' },
    ];
    const kept = filterAbortedMessages({ messages: msgs, abortedTransactions: aborted })
      .filter((m) => !m.isControlRecord)
      .map((m) => Number(m.offset));
    expect(kept).toEqual([17, 18]);
  });

  it('keeps a committed transaction that another aborted one starts inside', () => {
    // Producer 7 commits offsets 0-3; producer 8's aborted transaction (2, 4) sits inside it.
    const msgs = messages('7:t 7:t 8:t 7:t 8:A 7:C');
    const kept = filterAbortedMessages({ messages: msgs, abortedTransactions: [{ producerId: '8', firstOffset: '2' }] })
      .filter((m) => !m.isControlRecord)
      .map((m) => Number(m.offset));
    expect(kept).toEqual([0, 1, 3]);
  });
});
