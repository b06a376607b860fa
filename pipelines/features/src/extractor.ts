// The feature extractor: every family in a fixed order, one vector per event, and the feature schema (names, order,
// parameters) with its hash — the hash a model bundle records and a detector checks before scoring with it.
import { createHash } from 'node:crypto';
import { type ChangelogChange, RESTORE_SLAB_BYTES, RestoredRecords } from '@vigil/connectors';
import { type AccessEvent, principalKey } from '@vigil/events';
import { TenantLogins, UserLogins } from './features/auth.js';
import { KnownDevices } from './features/device.js';
import { Enumeration } from './features/enumeration.js';
import type { FeatureFamily } from './features/feature.js';
import { GeoJump } from './features/geo.js';
import { IpActivity } from './features/ip.js';
import type { Role } from './features/roles.js';
import { TokenConsistency } from './features/token.js';
import { TransactionDeviation } from './features/transaction.js';
import { Velocity } from './features/velocity.js';
import type { GeoLookup } from './geo/lookup.js';
import type { Checkpointable } from './state/checkpoint.js';
import { KeyGroups } from './state/key-group.js';
import { KeyIndex } from './state/key-index.js';
import { KeyedState } from './state/keyed-state.js';
import type { StateBudget } from './state/state-budget.js';

/** The prefix of a key group's changelog key: a key's state in every store (drainChanges); no store prefix starts with it. */
export const GROUP = '=';

export interface FeatureSchema {
  version: 1;
  names: string[];
  families: { family: string; role: Role; names: string[]; params: Record<string, number | string | boolean> }[];
  hash: string;
}

export interface StateStats {
  /** Keys held by the largest store. */
  keys: number;
  /** Principals with state in any store keyed by principal (0 for an extractor without such stores). */
  principals: number;
  /** Keys held, by store ("<family>/<store>"). */
  byStore: Record<string, number>;
  bytes: number;
  evictedByTtl: number;
  evictedByCap: number;
  evictedByBudget: number;
}

export class FeatureExtractor {
  readonly names: string[];
  readonly schema: FeatureSchema;
  private readonly offsets: number[] = [];
  /** Key groups' codec over the stores (drainChanges, restore). */
  private readonly keyGroups: KeyGroups;
  /** The Buffer over the slab the last restored group lay in (keptThrough). */
  private slab: Buffer | undefined;
  private storeList: [string, Checkpointable][] | undefined;
  private stateBudget: StateBudget | undefined;
  /** The slots of the stores keyed by principal, shared (one key and Map entry a principal for all of them). */
  private readonly principalKeys: KeyIndex | undefined;

  /** The families, in vector order. */
  constructor(readonly families: readonly FeatureFamily[]) {
    const ids = families.map((f) => f.id);
    const twice = ids.find((id, i) => ids.indexOf(id) !== i);
    if (twice !== undefined)
      throw new Error(`two feature families have the id '${twice}': each needs its own (schema hash, checkpoint keys)`);
    this.names = families.flatMap((f) => [...f.features.names]);
    let offset = 0;
    for (const f of families) {
      this.offsets.push(offset);
      offset += f.features.names.length;
    }
    const described = families.map((f) => ({
      family: f.id,
      role: f.role,
      names: [...f.features.names],
      params: f.params,
    }));
    const hash = createHash('sha256')
      .update(JSON.stringify({ version: 1, families: described }))
      .digest('hex');
    this.schema = {
      version: 1,
      names: this.names,
      families: described,
      hash: `sha256:${hash}`,
    };
    const byPrincipal = this.keyedStores().filter((store) => store.keyedBy === 'principal');
    if (byPrincipal.length > 0) {
      const index = new KeyIndex(true);
      for (const store of byPrincipal) store.shareKeys(index);
      this.principalKeys = index;
    }
    // Built now: two stores whose prefixes share a group id fail here, not at the first checkpoint.
    this.keyGroups = new KeyGroups(this.stores().map(([prefix]) => prefix));
  }

  /** The default families, principal ones first. Each keeps its own keyed state; one extractor per stream of events. */
  static standard(geo: GeoLookup, options: { budget?: StateBudget } = {}): FeatureExtractor {
    const extractor = new FeatureExtractor([
      new Velocity(),
      new Enumeration(),
      new GeoJump(geo),
      new TokenConsistency(),
      new KnownDevices(),
      new TransactionDeviation(),
      new IpActivity(),
      new UserLogins(),
      new TenantLogins(),
    ]);
    if (options.budget) extractor.useBudget(options.budget);
    return extractor;
  }

  /**
   * Charges every keyed store to `budget`, shared with the other extractors of the process. Not part of the schema:
   * the budget changes values only for keys it evicts (counted), so a bundle fits any budget.
   */
  useBudget(budget: StateBudget): void {
    for (const store of this.keyedStores()) store.useBudget(budget);
    this.stateBudget = budget;
  }

  /** Gives the state's bytes back to the budget: this extractor's task is being dropped. */
  release(): void {
    for (const store of this.keyedStores()) store.release();
    this.stateBudget = undefined;
  }

  /** The budget the stores are charged to (useBudget), which the task's own state beside them is charged to too. */
  get budget(): StateBudget | undefined {
    return this.stateBudget;
  }

  private keyedStores(): KeyedState<unknown>[] {
    return this.stores()
      .map(([, store]) => store)
      .filter((store): store is KeyedState<unknown> => store instanceof KeyedState);
  }

  /** Positions in the vector of the features of one role. */
  positions(role: Role): number[] {
    const out: number[] = [];
    this.families.forEach((f, i) => {
      if (f.role === role) for (let j = 0; j < f.features.names.length; j++) out.push((this.offsets[i] as number) + j);
    });
    return out;
  }

  /**
   * Updates the families' state with the event and returns its feature vector. Events must come in per-key order.
   * With `role`, only that role's families run (the online stages); the other positions stay 0.
   */
  extract(event: AccessEvent, role?: Role): Float64Array {
    const out = new Float64Array(this.names.length);
    const principal = principalKey(event);
    for (let i = 0; i < this.families.length; i++) {
      const f = this.families[i] as FeatureFamily;
      if (role === undefined || f.role === role) f.update(event, out, this.offsets[i] as number, principal);
    }
    // The principal's key, if it is new, is charged once every store has made room for its own state.
    this.principalKeys?.settle();
    return out;
  }

  /**
   * Every family's stores under "<family>/<store>/", the prefix of their keys in a changelog (a family's stores are
   * fixed at construction, so the list is built once).
   */
  private stores(): [string, Checkpointable][] {
    this.storeList ??= this.families.flatMap((f) =>
      Object.entries(f.stores).map(([name, store]): [string, Checkpointable] => [`${f.id}/${name}/`, store]),
    );
    return this.storeList;
  }

  /** Starts recording state changes for checkpoints. */
  trackChanges(): void {
    for (const [, store] of this.stores()) store.trackChanges();
  }

  /**
   * State changes since the last drain, as changelog records: one record per changed key holding that key's entry in
   * every store (a principal's velocity, habits, enumeration, geo and transaction state together), or null when no
   * store holds it any more. A record per store and key cost ~6 changelog records per event (bench:pipeline's
   * kafka_records_per_event); the client's cost is per record. Compaction keeps the latest record per key, which
   * is the key's whole state, so restore stays exact.
   *
   * `prefix` goes before every key (the stages' own, "stream/state/"), joined to each key once. Each change also
   * names the key itself, the string the key index holds (ChangelogChange): the changelog's bookkeeping keeps that
   * rather than a copy of the whole key (~100 bytes a key; issue 17, bytes per principal).
   */
  drainChanges(prefix = ''): ChangelogChange[] {
    const stores = this.stores();
    const changed = new Map<string, Map<number, Buffer | null>>();
    stores.forEach(([, store], i) => {
      for (const [key, value] of store.drainChanges()) {
        let byStore = changed.get(key);
        if (!byStore) {
          byStore = new Map();
          changed.set(key, byStore);
        }
        byStore.set(i, value);
      }
    });
    const out: ChangelogChange[] = [];
    const group = prefix + GROUP;
    for (const [key, byStore] of changed) out.push([group + key, this.group(key, byStore), key]);
    return out;
  }

  /** Whether a changelog key (as drainChanges writes it) is a key's group: packable into changelog segments. */
  packs(key: string): boolean {
    return key.startsWith(GROUP);
  }

  /** A group's record as it stands now (what drainChanges would write for it); null when no store holds the key. */
  encoded(groupKey: string): Buffer | null {
    return groupKey.startsWith(GROUP) ? this.group(groupKey.slice(GROUP.length)) : null;
  }

  /** One key's entry in every store, packed; `byStore` holds entries a drain encoded already. */
  private group(key: string, byStore?: Map<number, Buffer | null>): Buffer | null {
    const entries: [number, Buffer][] = [];
    this.stores().forEach(([, store], i) => {
      const value = byStore?.has(i) ? (byStore.get(i) as Buffer | null) : store.encoded(key);
      if (value !== null) entries.push([i, value]);
    });
    return entries.length > 0 ? this.keyGroups.encode(entries) : null;
  }

  /**
   * Rebuilds state from changelog records (in log order; the latest per key wins). Reads the grouped records above
   * and the one-record-per-store form earlier versions wrote; a group, always the newer of the two, is applied last.
   */
  restore(records: Iterable<[string, Buffer | null]>): void {
    const all = RestoredRecords.of(records);
    const stores = this.stores();
    let legacy = false;
    for (let i = 0; i < all.length; i++) {
      if (all.keyStartsWith(i, GROUP)) continue;
      const key = all.key(i);
      const owner = stores.find(([prefix]) => key.startsWith(prefix));
      if (!owner)
        throw new Error(`state record ${JSON.stringify(key.slice(0, 80))} belongs to no feature store of this schema`);
      owner[1].restoreEntry(key.slice(owner[0].length), all.value(i));
      legacy = true;
    }
    const groups = all.within(GROUP);
    const byPrefix = new Map(stores);
    this.reserveFor(groups);
    for (let i = 0; i < groups.length; i++) this.restoreGroup(groups, i, byPrefix, legacy);
    this.slab = undefined;
    for (const [, store] of stores) store.finishRestore();
    // Charged, nothing evicted (as the stores' own restores: a smaller budget is made room for by the next keys).
    this.principalKeys?.sync();
  }

  /**
   * Makes room in the key indexes for the keys a restore brings, before it brings them: the slots (and every store's
   * columns with them) grow by an eighth as keys come, and a restore's keys come all at once — grown step by step, the
   * columns were copied ~45 times over when they grew by a quarter (~85 by an eighth), most of a restore's time.
   * Counts records: a processor's restore gives each key once (its newest record), and a key given more than once
   * only makes the room larger than needed.
   */
  private reserveFor(groups: RestoredRecords): void {
    const stores = this.stores();
    const counts = new Array<number>(stores.length).fill(0);
    const principal = stores.map(([, s]) => s instanceof KeyedState && s.keyedBy === 'principal');
    let principals = 0;
    for (let g = 0; g < groups.length; g++) {
      const value = groups.buffer(g);
      if (value === undefined) continue;
      let ofPrincipal = false;
      this.keyGroups.forEachEntry(
        value,
        (i) => {
          if (i < 0) return;
          counts[i] = (counts[i] as number) + 1;
          ofPrincipal ||= principal[i] === true;
        },
        groups.valueStart(g),
        groups.valueEnd(g),
      );
      if (ofPrincipal) principals++;
    }
    this.principalKeys?.reserve(principals);
    stores.forEach(([, s], i) => {
      if (s instanceof KeyedState) s.reserve(counts[i] as number);
    });
  }

  /** Applies group g's record (one key's entries in every store it names) to those stores. */
  private restoreGroup(groups: RestoredRecords, g: number, stores: Map<string, Checkpointable>, legacy: boolean): void {
    const key = groups.key(g);
    // Only a restore that applied older per-store records needs to know which stores a group leaves out.
    const present = legacy ? new Set<Checkpointable>() : undefined;
    const value = groups.buffer(g);
    if (value !== undefined) {
      // Each store keeps where its entry lies in the buffer holding the group, rather than a copy or a view per store.
      const start = groups.valueStart(g);
      const end = groups.valueEnd(g);
      const [kept, shift] = this.keptThrough(value, start, end, groups.ownsBuffer(g));
      this.keyGroups.forEachEntry(
        value,
        (i, valueAt, valueEnd, unknown) => {
          const store = i < 0 ? undefined : stores.get(this.stores()[i]?.[0] as string);
          if (!store)
            throw new Error(
              `state record for ${JSON.stringify(key.slice(0, 80))} names ${unknown}, no feature store of this schema`,
            );
          store.restoreEntry(key, kept, true, shift + valueAt, shift + valueEnd);
          present?.add(store);
        },
        start,
        end,
      );
    }
    // A group is the key's whole state: a store it leaves out does not hold the key. That only undoes anything when
    // an older per-store record was applied first; otherwise a restore skips the ~10 needless deletes per key.
    if (present) for (const store of stores.values()) if (!present.has(store)) store.restoreEntry(key, null);
  }

  /**
   * The Buffer a restored group (`start` to `end` in `value`) is kept through, and what to add to a position in
   * `value` for the same byte in it. A restore's values lie side by side in slabs or whole segment copies that the
   * records own (ChangelogSegments.restore: `owned`), or in small buffers of their own: the whole of that memory is
   * kept, through one Buffer for each, not a Buffer per key (~100 bytes each, kept until the key is next used). A
   * value in anything larger that the records do not own (a whole changelog segment, a fetch) is copied, so that one
   * key does not keep it.
   */
  private keptThrough(value: Buffer, start: number, end: number, owned: boolean): [Buffer, number] {
    if (owned) return [value, 0];
    const whole = value.buffer;
    if (whole.byteLength > RESTORE_SLAB_BYTES) return [Buffer.from(value.subarray(start, end)), -start];
    if (this.slab?.buffer !== whole) this.slab = Buffer.from(whole, 0, whole.byteLength);
    return [this.slab, value.byteOffset];
  }

  /** Estimated bytes of the keyed state held (what the budget is charged). */
  stateBytes(): number {
    return this.keyedStores().reduce((sum, s) => sum + s.bytes, this.principalKeys?.bytes ?? 0);
  }

  /** Keys held (by the largest store, by each) and keys evicted, by cause, over every store. */
  stateStats(): StateStats {
    const stores = this.keyedStores();
    const byStore: Record<string, number> = {};
    for (const [prefix, store] of this.stores())
      if (store instanceof KeyedState) byStore[prefix.slice(0, -1)] = store.size;
    return {
      keys: Math.max(0, ...stores.map((s) => s.size)),
      principals: this.principalKeys?.size ?? 0,
      byStore,
      bytes: this.stateBytes(),
      evictedByTtl: stores.reduce((n, s) => n + s.evictedByTtl, 0),
      evictedByCap: stores.reduce((n, s) => n + s.evictedByCap, 0),
      evictedByBudget: stores.reduce((n, s) => n + s.evictedByBudget, 0),
    };
  }
}
