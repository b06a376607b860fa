// The Kafka client's own log lines: what a stage that stalls without failing leaves behind. A client that cannot
// reach its broker says so on stderr as one JSON object per line, in vigil's shape; at `nothing` it says nothing.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKafka } from './client.js';
import { kafkaConnectionSchema } from './config.js';

/** Connects an admin client to a port nobody listens on, with no retries, and returns what reached stderr. */
async function linesFromRefusedConnect(level: 'nothing' | 'error'): Promise<string[]> {
  const written: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(chunk.toString());
    return true;
  });
  const kafka = createKafka(
    kafkaConnectionSchema.parse({ brokers: ['127.0.0.1:1'], connection_timeout_ms: 500, client_log_level: level }),
  );
  const admin = kafka.admin({ retry: { retries: 0 } });
  await expect(admin.connect()).rejects.toThrow();
  vi.restoreAllMocks();
  return written;
}

describe('the Kafka client log', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes the connection error as a JSON line naming the broker', async () => {
    // Only the client's own lines (anything else the process writes meanwhile is not this test's).
    const lines = (await linesFromRefusedConnect('error'))
      .filter((l) => l.includes('"source":"kafkajs"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const refused = lines.find((l) => String(l.message).includes('ECONNREFUSED'));
    expect(refused).toMatchObject({ level: 'error', source: 'kafkajs', broker: '127.0.0.1:1' });
    expect(typeof refused?.ts).toBe('string');
  });

  it('writes nothing at level nothing', async () => {
    expect((await linesFromRefusedConnect('nothing')).filter((l) => l.includes('"source":"kafkajs"'))).toEqual([]);
  });
});
