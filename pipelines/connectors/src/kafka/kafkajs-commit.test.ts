// kafkajs' consumer retries a failed offset commit (its runner's retrier), and each retry commits under the group's
// generation *at that moment*. A commit that failed during a rebalance then lands after the member rejoined — for a
// partition that may be another member's by then, which may have committed further: the offset moves back, and a
// partition that stays quiet keeps it (ingest's committed offset stuck behind the end of its input, seen in CI).
// Patched (patches/kafkajs+2.2.4.patch): a commit is retried only under the generation it was made in.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const Runner = require('kafkajs/src/consumer/runner.js') as new (
  options: object,
) => {
  running: boolean;
  commitOffsets(offsets: object): Promise<void>;
};
const { KafkaJSError } = require('kafkajs/src/errors.js') as {
  KafkaJSError: new (message: string, options: { retriable: boolean }) => Error;
};

interface Logger {
  namespace(): Logger;
  debug(): void;
  info(): void;
  warn(): void;
  error(): void;
}
const logger: Logger = { namespace: () => logger, debug() {}, info() {}, warn() {}, error() {} };

/** A consumer group whose first `failures` commits fail as in a rebalance; `rejoin` says whether one happens. */
function group(failures: number, rejoin: boolean) {
  const g = {
    // Made anew at each sync, with that sync's generation (kafkajs' OffsetManager).
    offsetManager: { generationId: 7 },
    commits: [] as number[],
    async commitOffsets() {
      g.commits.push(g.offsetManager.generationId);
      if (g.commits.length <= failures) {
        if (rejoin) g.offsetManager = { generationId: 8 };
        throw new KafkaJSError('The group is rebalancing', { retriable: true });
      }
    },
  };
  return g;
}

function runner(g: ReturnType<typeof group>) {
  const r = new Runner({
    logger,
    consumerGroup: g,
    instrumentationEmitter: { emit() {} },
    retry: { initialRetryTime: 1, maxRetryTime: 5, retries: 5 },
  });
  r.running = true;
  return r;
}

const offsets = { topics: [{ topic: 'in', partitions: [{ partition: 0, offset: '42' }] }] };

describe("kafkajs' offset commit (patched)", () => {
  it('is not retried once the group has a newer generation', async () => {
    const g = group(1, true);
    await expect(runner(g).commitOffsets(offsets)).rejects.toThrow(/rebalanced/);
    expect(g.commits).toEqual([7]);
  });

  it('is still retried within its own generation', async () => {
    const g = group(2, false);
    await runner(g).commitOffsets(offsets);
    expect(g.commits).toEqual([7, 7, 7]);
  });
});
