// The online feature stages on the real broker give, for every request, the same feature vector as the offline path
// (`vigil features` / FeatureStream) over the same log — although the log is written unkeyed to three partitions,
// re-keyed by principal and by entity (IP, username, tenant), the entity features computed where each entity's
// events meet and joined back onto the request — with one detector, with two in one group, and with one killed by
// SIGKILL mid-stream and restarted. Exactly once: every request has exactly one feature record on the
// (read-committed) feature topic, whatever was killed; at least once (the latency setting): at least one, every copy
// the same.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adapterFor } from '@vigil/adapters';
import { ChangelogSegments, readChangelog, SEGMENT_PREFIX } from '@vigil/connectors';
import type { AccessEvent, Decision } from '@vigil/events';
import { FeatureExtractor, type FeatureRecord, FeatureStream, MmdbGeoLookup } from '@vigil/features';
import { generateTraffic, renderRecord } from '@vigil/simulator';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import {
  type DetectorProcess,
  EXACT_FEATURES,
  kafkaClient,
  randomName,
  readTopic,
  requiredEnv,
  startDetectorProcess,
  trainTestBundle,
  vigilCli,
  waitFor,
} from '../support/services.js';

const PEPPER = 'features-integration-pepper-0123456789abcdef';
const BOUND_MS = 120_000;

function log(seed: number, customers: number, events: number, start: number): string[] {
  const traffic = generateTraffic({ seed, customers, start, meanGapMs: 20 });
  return Array.from({ length: events }, (_, i) =>
    JSON.stringify(renderRecord('kong', traffic.next().value as never, i % 2 ? 'claims' : 'bearer')),
  );
}

/** The offline path over the same lines: the same adapter and pepper, one stream in file order. */
function offlineVectors(lines: string[]): { expected: Map<string, Float64Array>; extractor: FeatureExtractor } {
  const adapter = adapterFor('kong', { pepper: { version: 1, secret: PEPPER } });
  const offline = new FeatureStream(FeatureExtractor.standard(MmdbGeoLookup.bundled()), BOUND_MS);
  const expected = new Map<string, Float64Array>();
  for (const line of lines) {
    for (const o of adapter.parse(line)) {
      if (!o.ok) throw new Error(o.detail);
      for (const row of offline.push(o.event as AccessEvent)) expected.set(row.event.request_id, row.vector);
    }
  }
  for (const row of offline.flush()) expected.set(row.event.request_id, row.vector);
  return { expected, extractor: offline.extractor };
}

/**
 * The feature records by request: exactly one each (exactly once), or every repeat equal to the first (at least
 * once); with the number of repeats.
 */
function featureRecords(
  records: { value: string }[],
  guarantee: 'at_least_once' | undefined,
): { online: Map<string, FeatureRecord>; repeated: number } {
  const online = new Map<string, FeatureRecord>();
  let repeated = 0;
  for (const r of records) {
    const f = JSON.parse(r.value) as FeatureRecord;
    const before = online.get(f.request_id);
    if (guarantee === 'at_least_once' && before) {
      expect(f.v, `the repeated feature record of ${f.request_id}`).toEqual(before.v);
      repeated++;
    }
    expect(guarantee === 'at_least_once' || !before, `a second feature record for ${f.request_id}`).toBe(true);
    online.set(f.request_id, f);
  }
  return { online, repeated };
}

/** Every main request's online vector equals the offline one; enough of them non-zero, entity features included. */
function expectOnlineAsOffline(
  mainIds: string[],
  online: Map<string, FeatureRecord>,
  expected: Map<string, Float64Array>,
  extractor: FeatureExtractor,
): void {
  const entityPositions = [
    ...extractor.positions('ip'),
    ...extractor.positions('user'),
    ...extractor.positions('tenant'),
  ];
  let nonzero = 0;
  let entityNonzero = 0;
  for (const id of mainIds) {
    const got = online.get(id);
    const want = Array.from(expected.get(id) ?? []);
    expect(got?.schema).toBe(extractor.schema.hash);
    // On a mismatch, say where to look: the principal, its keyed partition, and which features differ.
    const differing = extractor.names.filter((_, i) => got?.v[i] !== want[i]).join(', ');
    expect(
      got?.v,
      `${id} (principal ${got?.principal}, features ${differing}; online ` +
        `${JSON.stringify(got?.v.filter((x, i) => x !== want[i]))}, offline ` +
        `${JSON.stringify(want.filter((x, i) => got?.v[i] !== x))})`,
    ).toEqual(want);
    nonzero += want.filter((x) => x !== 0).length;
    entityNonzero += entityPositions.filter((i) => want[i] !== 0).length;
  }
  expect(nonzero).toBeGreaterThan(mainIds.length * 4);
  expect(entityNonzero).toBeGreaterThan(mainIds.length);
}

/** The decision records by request: a repeated one (at least once, after a crash) is the same record. */
function decisionRecords(records: { value: string }[]): Map<string, Decision> {
  const decisions = new Map<string, Decision>();
  for (const x of records) {
    const dec = JSON.parse(x.value) as Decision;
    const before = decisions.get(dec.request_id);
    if (before) expect([before.action, before.score], dec.request_id).toEqual([dec.action, dec.score]);
    decisions.set(dec.request_id, dec);
  }
  return decisions;
}

/**
 * `vigil replay` over the same log, on the detector's code path offline: the same decision records as the live
 * service, field for field, except decided_at.
 */
function expectReplayAsLive(lines: string[], bundleDir: string, live: Map<string, Decision>): void {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-replay-'));
  writeFileSync(join(dir, 'log.jsonl'), `${lines.join('\n')}\n`);
  vigilCli(
    [
      'replay',
      '--format',
      'kong',
      '--input',
      join(dir, 'log.jsonl'),
      '--bundle',
      join(bundleDir, 'bundle'),
      '--out',
      join(dir, 'decisions.jsonl'),
      '--all',
      '--bound-ms',
      String(BOUND_MS),
    ],
    PEPPER,
  );
  const replayed = new Map(
    readFileSync(join(dir, 'decisions.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Decision)
      .map((d) => [d.request_id, d]),
  );
  const strip = ({ decided_at: _, ...rest }: Decision) => rest;
  for (const [id, d] of live) expect(strip(replayed.get(id) as Decision), id).toEqual(strip(d));
}

describe('feature stage on Kafka', () => {
  const kafka: Kafka = kafkaClient();
  const created: string[] = [];
  const detectors: DetectorProcess[] = [];
  // One bundle scores every leg; each leg's decisions (every request, 'allow' included) are compared with the first's.
  const bundleDir = mkdtempSync(join(tmpdir(), 'vigil-features-bundle-'));
  let firstDecisions: Map<string, Decision> | undefined;
  // The same log, timestamps included, in every leg (features such as the hour of a payment depend on them).
  const start = Date.now() - 10 * 60_000;

  beforeAll(() => trainTestBundle(bundleDir, join(bundleDir, 'bundle'), PEPPER));

  afterAll(async () => {
    for (const d of detectors) d.child.kill('SIGKILL');
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: created }).catch(() => undefined);
    await admin.disconnect();
  });

  // Two instances split the keyed partitions between them; each partition's state lives with its owner, so the
  // principal-keyed features must not change. A killed instance's partitions are restored from their last
  // checkpoint by its successor, which also drops what the killed ingest had re-keyed twice.
  it.each([
    { instances: 1, kill: false, producerClient: 'kafkajs' as const },
    { instances: 2, kill: false, producerClient: 'kafkajs' as const },
    { instances: 1, kill: true, producerClient: 'kafkajs' as const },
    { instances: 2, kill: false, joinMidStream: true, producerClient: 'kafkajs' as const },
    // At least once (features.guarantee): records leave when computed. SIGKILL while the held log is being released
    // (checkpoints 10 s apart, so records have left since the last one): the successor computes them again, and each
    // repeat must carry the same vector.
    {
      instances: 1,
      kill: false,
      killWhileReleasing: true,
      guarantee: 'at_least_once' as const,
      producerClient: 'kafkajs' as const,
    },
    // The same with @platformatic/kafka writing ingest's topics and the stages' outputs and changelogs
    // (kafka.producer_client): its records must land where kafkajs' would, and restore as they were written.
    {
      instances: 1,
      kill: false,
      killWhileReleasing: true,
      guarantee: 'at_least_once' as const,
      producerClient: 'platformatic' as const,
    },
  ])(
    'computes every feature online as offline: $instances instance(s), SIGKILL mid-stream: $kill, one joins ' +
      'mid-stream: $joinMidStream, at least once with SIGKILL while releasing: $killWhileReleasing, written by ' +
      '$producerClient',
    async ({ instances, kill, joinMidStream, killWhileReleasing, guarantee, producerClient }) => {
      const input = randomName('in');
      const keyed = randomName('keyed');
      const entities = randomName('entities');
      const dlq = randomName('dlq');
      const featuresTopic = randomName('features');
      const decisionsTopic = randomName('decisions');
      const group = randomName('detector');
      created.push(input, keyed, entities, dlq, featuresTopic, decisionsTopic, `${decisionsTopic}.shadow`);
      const mine: DetectorProcess[] = [];
      onTestFailed(() => {
        for (const d of mine) console.log(`--- detector output ---\n${d.output().slice(-4000)}`);
      });
      const main = log(21, 40, 3000, start);
      // Later traffic from many other principals moves every keyed partition's watermark past the main log, as live
      // traffic would; it is not compared.
      const tail = log(22, 400, 400, start + 5 * 60_000);
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: input, numPartitions: 3 }] });
      await admin.disconnect();
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const produce = async (lines: string[]) => {
        for (let i = 0; i < lines.length; i += 500) {
          const messages = lines.slice(i, i + 500).map((value) => ({ value }));
          // A topic created a moment ago may not be known to every broker connection yet.
          await waitFor(
            'the input topic',
            () => producer.send({ topic: input, acks: -1, messages }).then(() => true),
            30_000,
          );
        }
      };
      const lines = [...main, ...tail];
      const launch = () => {
        const d = startDetectorProcess({
          format: 'kong',
          pepper: { secret: PEPPER },
          kafka: {
            brokers: requiredEnv('KAFKA_BROKERS').split(','),
            producer_client: producerClient,
          },
          consumer: { group_id: group, topics: [input], session_timeout_ms: 6000, heartbeat_interval_ms: 1000 },
          topics: { keyed, entities, dead_letter: dlq, partitions: 3 },
          features: {
            topic: featuresTopic,
            reorder_bound_ms: BOUND_MS,
            // The exact profile (event time only, as offline: the vectors must equal the offline path's); the
            // at-least-once case overrides its guarantee.
            ...EXACT_FEATURES,
            ...(guarantee ? { guarantee, commit_interval_ms: 10_000 } : {}),
          },
          scoring: {
            bundle: join(bundleDir, 'bundle'),
            topic: decisionsTopic,
            shadow_topic: `${decisionsTopic}.shadow`,
            write_allow: true,
          },
          telemetry: { port: 0 },
        });
        mine.push(d);
        detectors.push(d);
        return d;
      };
      // A member joining mid-stream makes every stage's group rebalance while traffic flows: partitions move, each new
      // owner restores from the changelog and the old owner's unchecked work is dropped.
      const atStart = joinMidStream ? 1 : instances;
      for (let i = 0; i < atStart; i++) launch();
      const alive = () => {
        for (const d of mine) if (d.child.signalCode !== 'SIGKILL') d.assertAlive();
      };

      const { expected, extractor } = offlineVectors(lines);
      const mainIds = main.map((l) => (JSON.parse(l) as { request: { id: string } }).request.id);

      const watcher = kafka.admin();
      await watcher.connect();
      await waitFor('the detector to create its topics', async () => {
        alive();
        return (await watcher.listTopics()).includes(featuresTopic);
      });
      await waitFor('every instance in every consumer group', async () => {
        alive();
        const { groups } = await watcher.describeGroups([group, `${group}.entities`, `${group}.features`]);
        return groups.every((g) => g.state === 'Stable' && g.members.length === atStart);
      });
      // Requests the principal stage has checkpointed (committed): those it emitted (the feature topic's offsets, which
      // also count a transaction marker per partition and commit: a rough figure, enough for "a good part"), plus the
      // events its reorder buffer holds (held-event sets) and requests waiting for entity parts (join records).
      const checkpointed = async (requests: number) => {
        const probe = kafka.admin();
        await probe.connect();
        const emitted = async () =>
          (
            await probe.fetchTopicOffsets(featuresTopic).then(
              (offsets) => offsets.map((p) => p.high),
              () => [] as string[],
            )
          ).reduce((n, high) => n + Number(high), 0);
        // readTopic's condition is synchronous: the feature topic's size is polled beside it.
        let lastEmitted = 0;
        const poll = setInterval(() => void emitted().then((n) => (lastEmitted = n)), 200);
        await readTopic(
          kafka,
          `${group}.features-changelog`,
          (records) => {
            alive();
            const ids = new Set<string>();
            for (const [key, value] of new Map(records.map((r) => [r.key ?? '', r.value]))) {
              if (key.includes('heldset/'))
                for (const m of value.matchAll(/"request_id":"([^"]+)"/g)) ids.add(m[1] as string);
              else if (key.startsWith('join/') && value !== '') ids.add(key.slice(key.indexOf('/', 5) + 1));
            }
            return ids.size + lastEmitted >= requests;
          },
          60_000,
        ).finally(() => clearInterval(poll));
        await probe.disconnect();
      };
      const half = Math.floor(main.length / 2);
      if (joinMidStream) {
        await produce(main.slice(0, half));
        await checkpointed(half / 5);
        launch();
        // The rest arrives in slices while the groups rebalance around the newcomer.
        for (let i = half; i < main.length; i += 100) {
          await produce(main.slice(i, i + 100));
          await new Promise((r) => setTimeout(r, 200));
        }
      } else if (kill) {
        // Half the log, until a good part of it is checkpointed (held by the reorder buffer: the bound is longer than
        // the log); then SIGKILL (no final checkpoint) and a successor that restores the partitions and re-reads
        // whatever the killed one had not committed.
        await produce(main.slice(0, half));
        await checkpointed(half / 5);
        const victim = mine[0] as DetectorProcess;
        victim.child.kill('SIGKILL');
        await victim.exited;
        const successor = launch();
        await produce(main.slice(half));
        // The successor really restored checkpointed state (not an empty start that happened to catch up).
        const restored = await waitFor('the successor to restore', async () => {
          const lines = successor
            .output()
            .split('\n')
            .filter((l) => l.includes('feature state restored'));
          // Every partition of both stages (3 + 3) reports its restore; fewer would sum a partial count.
          return lines.length >= 6 ? lines.map((l) => (JSON.parse(l) as { records: number }).records) : undefined;
        });
        // The successor restored checkpointed state; what it restored is checked by the equality below: a successor
        // that started empty would begin past the held events the killed one had committed, and miss their features.
        expect(restored.filter((n) => n > 0).length).toBeGreaterThan(0);
      } else {
        await produce(main);
      }
      // The tail arrives after the main log has been re-keyed, as later traffic would in a live system; sent all at
      // once as a backlog, it could overtake main events by more than the reorder bound. "Re-keyed" is ingest's own
      // committed offsets reaching the end of the input (it commits only what the keyed topics acknowledged) — not the
      // keyed topic's size, which counts the entity stage's parts too and can reach main.length while ingest lags
      // (a rebalance pausing it), letting the tail overtake main events.
      await waitFor(
        'ingest to have re-keyed the whole main log',
        async () => {
          alive();
          const ends = await watcher.fetchTopicOffsets(input);
          const [committed] = await watcher.fetchOffsets({ groupId: group, topics: [input] });
          const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
          return ends.every((e) => (at.get(e.partition) ?? -1) >= Number(e.high));
        },
        120_000,
      );
      await produce(tail);
      if (killWhileReleasing) {
        await waitFor('the first feature records', async () => {
          alive();
          return (await watcher.fetchTopicOffsets(featuresTopic)).some((p) => Number(p.high) > 0);
        });
        const victim = mine[0] as DetectorProcess;
        victim.child.kill('SIGKILL');
        await victim.exited;
        const successor = launch();
        await waitFor(
          'the successor to restore',
          async () =>
            successor
              .output()
              .split('\n')
              .filter((l) => l.includes('feature state restored')).length >= 6,
        );
      }
      await producer.disconnect();
      await watcher.disconnect();
      // Reads a topic of records with a request_id until every request of the main log is there.
      const readAll = (topic: string) =>
        readTopic(
          kafka,
          topic,
          (v) => {
            alive();
            const seen = new Set(v.map((x) => (JSON.parse(x.value) as { request_id: string }).request_id));
            return mainIds.every((id) => seen.has(id));
          },
          60_000,
        );
      const records = await readAll(featuresTopic);
      const { online, repeated } = featureRecords(records, guarantee);
      if (killWhileReleasing) {
        console.log(
          `at least once, SIGKILL while releasing: ${repeated} feature records repeated of ${records.length}`,
        );
        expect(repeated).toBeGreaterThan(0);
      }
      expectOnlineAsOffline(mainIds, online, expected, extractor);

      // On the broker, the principal stage's key groups are in changelog segments (changelog-segments.ts), none a record
      // of its own; expanded, they are the keys' state the restores above read. Exactly once, the feature records read
      // above were committed with the state that computed them; at least once, the state may not be checkpointed yet.
      const changelog = [...(await readChangelog(kafka, `${group}.features-changelog`, [0, 1, 2])).values()];
      const changelogKeys = changelog.flatMap((log) => [...log.keys()]);
      expect(changelogKeys.filter((k) => k.startsWith('stream/state/'))).toEqual([]);
      if (!guarantee) {
        expect(changelogKeys.some((k) => k.startsWith(SEGMENT_PREFIX))).toBe(true);
        const expanded = changelog.flatMap((log) =>
          [...ChangelogSegments.restore(log, undefined).state].map(([key]) => key),
        );
        expect(expanded.filter((k) => k.startsWith('stream/state/=')).length).toBeGreaterThan(20);
      }

      // The decisions: one per request, the same action and score in every leg — the legs replay the same log with
      // the same timestamps — and the first leg's the same as `vigil replay`'s.
      const decisionList = await readAll(decisionsTopic);
      const decisions = decisionRecords(decisionList);
      // Decided in the principal task (scoring.fused) and written in its transactions: exactly once with the
      // features, after a SIGKILL or a rebalance too (at least once, a repeat is the same record).
      if (!guarantee) expect(decisionList.length, 'decisions repeated').toBe(decisions.size);
      const legDecisions = new Map(mainIds.map((id) => [id, decisions.get(id) as Decision]));
      if (firstDecisions) {
        let differ = 0;
        for (const [id, dec] of legDecisions) {
          const first = firstDecisions.get(id) as Decision;
          expect(dec.action, id).toBe(first.action);
          if (dec.score !== first.score) differ++;
        }
        expect(differ).toBe(0);
      } else {
        firstDecisions = legDecisions;
        expectReplayAsLive(lines, bundleDir, legDecisions);
      }
      const nonAllowDecisions = [...legDecisions.values()].filter((x) => x.action !== 'allow').length;
      console.log(
        `feature stages, ${instances} instance(s)${kill ? ', one killed and restarted' : ''}` +
          `${joinMidStream ? ', one joined mid-stream' : ''}: ${mainIds.length} requests, all ` +
          `${extractor.names.length} features identical online and offline (entity features joined), no duplicates; ` +
          `${nonAllowDecisions} non-allow decisions, the same in every leg`,
      );
    },
  );
});
