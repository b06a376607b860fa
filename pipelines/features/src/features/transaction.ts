// Transaction deviation per account (else per principal): how unusual a payment's amount, payee and hour are in
// the account's own history.
// - amount: running statistics in log space (the mean of ln(amount) and its absolute deviation: plain averages over
//   the account's first 1/alpha payments, an EWMA after). The typical amount is the account's own from its first
//   payment on — a fixed population amount (`priorAmount`, for the first payment only) would otherwise drag every young
//   account's mean toward one currency's scale; the deviation, which is scale-free in log space, blends with the
//   population's as with a prior that counts as `priorPayments` payments (cold start: a parameter of the feature
//   schema, not a running statistic over other accounts — that would make one account's features depend on which
//   instance saw which other payments), and has a floor so an account that always pays the same amount (zero
//   variance) does not turn a cent's difference into a huge z-score. A burst's payments (payments no more than an hour
//   apart, within an hour of its first) are judged against the account as it stood when the burst began: a drain's
//   own first payments do not make its later ones look usual;
// - ratio to the account's largest payment so far;
// - first-seen payee (a payee not paid for `payeeTtlMs` counts as new again);
// - hour-of-day unusualness: while the account has made fewer than `minPaymentsForHours` payments, in the rhythm of
//   all the principal's requests (a customer who banks in the evening and pays nobody for weeks still has a night
//   that is not theirs: payment fraud on a quiet account at 3 a.m. was invisible without it); after, the more unusual
//   of that and the account's own payment hours (a decayed 24-bin histogram, UTC hours);
// - payments in the last hour (payroll batches are normal for business accounts: the models learn it per account
//   through the other features, and the log compresses the burst);
// - a conjunction feature — new payee AND unusual amount AND unusual hour — which a forest, scoring one feature at
//   a time, would see only weakly;
// - the payment risk of the last hour, in nats, led by payee novelty rather than the hour: each payment to a new
//   payee adds its surprise for this account — the novelty weighs −ln of the account's own new-payee rate (a
//   business that pays new staff every month finds a new payee unsurprising; a customer with three habitual payees
//   does not), an amount above the account's own level its z-score (a Laplace tail's −ln, up to a constant), the
//   hour its −ln(1 − unusualness) at the hour the burst began, at most 3 — and the sum decays with a one-hour time
//   constant. A drain (several new payees in minutes, each well above the account's usual) adds up where one payment
//   alone does not; payments to known payees (a payroll run to known staff) add nothing. The policy's payment rule
//   compares it with a threshold fitted on the user's own traffic per cohort (rule-fit.ts);
// - the account's payment history before the current burst: how many payments it made, and how unusual the hour was
//   when the burst began. A burst that outnumbers the account's whole history (a business's first payroll run:
//   dozens of new payees, amounts unlike its few earlier payments) is the cold start the risk cannot judge — the
//   policy fits such bursts their own threshold, so a first payroll does not set the bar for a drain; the hour the
//   burst began is kept because the drain's own requests soon make its hour look usual;
// - whether the principal has been seen long enough (a day) for its activity hours to be a rhythm at all;
// - the burst's pace: the shortest gap between two of its payments so far. A batch (a payroll file, an API loop)
//   pays faster than anyone can enter a payment by hand; a drain driven through the customer's own app or device
//   cannot. The policy judges machine-paced bursts apart, so dozens of payroll payees do not set the bar for two or
//   three payments typed in by a fraudster. The shortest gap, not the mean: a payroll run that follows a supplier
//   payment by half an hour is still a batch.

import { grown, idMapBytes, objectBytes, typedArrayBytes } from '@vigil/core';
import type { AccessEvent } from '@vigil/events';
import { fillTo, REFERENCE_COLUMN_BYTES, type StateColumns } from '../state/columns.js';
import { KeyedState } from '../state/keyed-state.js';
import { SlidingCounts } from '../state/sliding-count.js';
import { declareFeatures } from './declare.js';
import { DAY, type FeatureFamily, HOUR, keyTime, logCount } from './feature.js';

/** A window shape as a constant, so each new account's counts share it (sliding-count.ts). */
const RECENT_WINDOW = [HOUR];

const ACCOUNT = 'account (else principal)';

export const TRANSACTION_FEATURES = declareFeatures([
  {
    name: 'tx_present',
    encoding: 'flag',
    window: 'the request',
    key: ACCOUNT,
    means: '1 when the request carries a payment (the other `tx_` features are 0 otherwise)',
  },
  {
    name: 'tx_amount_z',
    encoding: 'plain',
    window: 'running',
    key: ACCOUNT,
    means:
      "z-score of ln(amount) against the account's running mean and deviation as they stood when the current burst " +
      'began (a typical 50-unit payment for its first; the deviation a prior of 1 that counts as 2 payments, floor ' +
      '0.25)',
  },
  {
    name: 'tx_ratio_to_max_log2',
    encoding: 'log2',
    window: 'all time',
    key: ACCOUNT,
    means: 'log2(amount ÷ largest earlier payment)',
  },
  {
    name: 'tx_new_payee',
    encoding: 'flag',
    window: '180 days',
    key: ACCOUNT,
    means: '1 for a payee not paid in 180 days',
  },
  {
    name: 'tx_hour_unusual',
    encoding: 'share',
    window: 'decayed',
    key: ACCOUNT,
    means:
      "1 − share of the principal's requests in this UTC hour (read with its neighbours: ½ at ±1 h, ¼ at ±2 h) " +
      'relative to its busiest hour; once the account has 3 payments, the greater of that and the same over the ' +
      "account's payments",
  },
  { name: 'tx_count_1h_log', encoding: 'log1p', window: '1 h', key: ACCOUNT, means: 'log1p(payments in the hour)' },
  {
    name: 'tx_conjunction',
    encoding: 'plain',
    window: 'the payment',
    key: ACCOUNT,
    means: 'new payee × positive z × unusual hour — the conjunction a forest sees weakly',
  },
  {
    name: 'tx_risk_1h',
    encoding: 'plain',
    window: '1 h (decay)',
    key: ACCOUNT,
    means:
      "payment risk in nats: each payment to a new payee adds −ln(the account's own new-payee rate, Beta prior " +
      "0.2 over 2 payments) + its amount z-score (at most 6) + the hour's surprise −ln(1 − tx_hour_unusual) at " +
      'the hour the burst began (at most 3); payments to known payees add nothing. The `payment_anomaly` ' +
      "rule's statistic",
  },
  {
    name: 'tx_history_log',
    encoding: 'log1p',
    window: 'before the current burst',
    key: ACCOUNT,
    means:
      'log1p(payments the account made before its current burst: payments no more than an hour apart, within an ' +
      "hour of its first) — a burst that outnumbers them is a cold start (a business's first payroll run): vigil " +
      'train fits such bursts their own `payment_anomaly` threshold',
  },
  {
    name: 'tx_burst_hour_unusual',
    encoding: 'share',
    window: 'the current burst',
    key: ACCOUNT,
    means:
      "tx_hour_unusual at the current burst's first payment — kept for the burst, because a drain's own requests " +
      'soon make its hour look usual; the second signal that judges a cold burst with every account',
  },
  {
    name: 'tx_burst_gap_s_log',
    encoding: 'log1p',
    window: 'the current burst',
    key: ACCOUNT,
    means:
      "log1p(the shortest gap in seconds between the current burst's payments; an hour at its first) — low for a " +
      'machine-paced batch (a payroll file, an API loop), which `payment_anomaly` judges apart from payments ' +
      'entered by hand',
  },
  {
    name: 'tx_rhythm_known',
    encoding: 'flag',
    window: 'since the principal was first seen',
    means:
      '1 once the principal has been seen for a day (`rhythmMs`): before that its activity hours are no rhythm, ' +
      'and `payment_anomaly` judges its bursts as cold starts, uncorroborated by the hour',
  },
]);
const F = TRANSACTION_FEATURES.position;

interface Account {
  last: number;
  n: number;
  mean: number;
  dev: number;
  max: number;
  payees: Map<string, number>;
  hours: Float32Array;
  recent: SlidingCounts;
  /** Payments to a payee new to the account (for its own new-payee rate). */
  newPayees: number;
  /** Payment risk (nats) as of `riskAt`, decaying with a one-hour time constant. */
  risk: number;
  riskAt: number;
  /** Payments the account made before its current burst (payments no more than an hour apart). */
  beforeBurst: number;
  /** How unusual the hour was at the current burst's first payment. */
  burstHourUnusual: number;
  /** The shortest gap between two payments of the current burst, ms (Infinity: one payment so far). */
  burstMinGap: number;
  /** When the current burst began (a burst lasts at most an hour: a steady payer's day is many bursts). */
  burstAt: number;
  /**
   * The account as it stood when the current burst began — the typical ln(amount) and its deviation (blended with the
   * prior) and the new-payee rate — against which the burst's payments are judged: a drain's own payments must not
   * teach the account that drains are its habit before the drain is over.
   */
  burstMean: number;
  burstDev: number;
  burstNewPayeeRate: number;
}

export interface Activity {
  last: number;
  /** The principal's first request (an hour is unusual only against a day's rhythm). */
  first: number;
  n: number;
  /**
   * Bins stored divided by `scale` (decay by shrinking one number per request, not 24); a bin's weight = bin × scale.
   */
  scale: number;
  /**
   * The 24 bins, once requests came in two different hours. Before that undefined, and the one hour's bin in `hour`
   * (-1: none yet) and `bin`: most principals a wave brings are seen once, and a typed array is ~300 bytes.
   */
  hours: Float32Array | undefined;
  hour: number;
  bin: number;
}

/** The activity's bins to read: its own, or its one hour's bin in a shared array (read at once, never kept). */
const ONE_HOUR = new Float32Array(24);
export function activityHours(act: Activity): Float32Array {
  if (act.hours) return act.hours;
  ONE_HOUR.fill(0);
  if (act.hour >= 0) ONE_HOUR[act.hour] = act.bin;
  return ONE_HOUR;
}

/** Adds `weight` to an hour's bin, as a Float32Array would store it (Math.fround): the same bits either way. */
export function addActivity(act: Activity, hour: number, weight: number) {
  if (!act.hours) {
    if (act.hour < 0 || act.hour === hour) {
      act.hour = hour;
      act.bin = Math.fround(act.bin + weight);
      return;
    }
    act.hours = new Float32Array(24);
    act.hours[act.hour] = act.bin;
    act.hour = -1;
    act.bin = 0;
  }
  act.hours[hour] = (act.hours[hour] as number) + weight;
}

/**
 * Counts a request in the principal's activity hours (decayed per request); returns how unusual its hour was before
 * it, when `read` (a payment's), else 0.
 */
export function countActivity(act: Activity, hour: number, decay: number, read: boolean): number {
  act.hour ??= -1; // a checkpoint written before the one-hour form: its hours are a typed array
  act.bin ??= 0;
  const unusual = read ? unusualHour(activityHours(act), act.n, hour, act.scale) : 0;
  act.scale *= decay;
  // Renormalised long before 1/scale leaves float32's range (the checkpoint codec stores Float32Array).
  if (act.scale < 1e-20) {
    if (act.hours) for (let h = 0; h < 24; h++) act.hours[h] = (act.hours[h] as number) * act.scale;
    else act.bin = Math.fround(act.bin * act.scale);
    act.scale = 1;
  }
  addActivity(act, hour, 1 / act.scale);
  act.n++;
  return unusual;
}

/** 24 hours of Float32 weights: their typed array. */
const HOURS_BYTES = typedArrayBytes(24 * 4);
/** 18 fields, 12 of them boxed numbers (times, means, deviations, risks), and the hours; payees and counts apart. */
const ACCOUNT_BYTES = objectBytes(18, 12) + HOURS_BYTES;

/**
 * Activity hours in columns, a principal's numbers at its slot (an object of seven fields, four of them boxed, took
 * ~290 bytes for a principal seen in one hour, and a wave's principals are seen once). `load` and `store` move a
 * slot's numbers through one object, so countActivity and its helpers read the same shape either way.
 */
class ActivityColumns implements StateColumns<Activity> {
  private last = new Float64Array(0);

  /** The key's clock (the latest event time it was seen at): its store's last-seen time too (StateColumns.clock). */
  get clock(): Float64Array {
    return this.last;
  }
  /** NaN: a checkpoint written before the field existed (set at the principal's next request). */
  private first = new Float64Array(0);
  private n = new Float64Array(0);
  private scale = new Float64Array(0);
  private bin = new Float64Array(0);
  private hour = new Int8Array(0);
  private hours: (Float32Array | undefined)[] = [];

  grow(slots: number): void {
    this.last = grown(this.last, slots);
    this.first = grown(this.first, slots);
    this.n = grown(this.n, slots);
    this.scale = grown(this.scale, slots);
    this.bin = grown(this.bin, slots);
    this.hour = grown(this.hour, slots);
    fillTo(this.hours, slots);
  }

  write(slot: number, a: Activity): void {
    this.store(slot, a);
    // A checkpoint written before these fields existed: its hours are a typed array, and `first` is its next request.
    this.first[slot] = a.first ?? Number.NaN;
    this.hour[slot] = a.hour ?? -1;
    this.bin[slot] = a.bin ?? 0;
  }

  read(slot: number): Activity {
    const first = this.first[slot] as number;
    // Not set yet (a checkpoint written before the field, not used since): written without it, as it was read, so
    // that any version sets it at the principal's next request.
    const a: Partial<Activity> = Number.isNaN(first)
      ? { last: this.last[slot] as number }
      : { last: this.last[slot] as number, first };
    a.n = this.n[slot] as number;
    a.scale = this.scale[slot] as number;
    a.hours = this.hours[slot];
    a.hour = this.hour[slot] as number;
    a.bin = this.bin[slot] as number;
    return a as Activity;
  }

  /** The slot's activity, into `a`. */
  load(slot: number, a: Activity): Activity {
    a.last = this.last[slot] as number;
    a.first = this.first[slot] as number;
    a.n = this.n[slot] as number;
    a.scale = this.scale[slot] as number;
    a.hours = this.hours[slot];
    a.hour = this.hour[slot] as number;
    a.bin = this.bin[slot] as number;
    return a;
  }

  /** `a` into the slot. */
  store(slot: number, a: Activity): void {
    this.last[slot] = a.last;
    this.first[slot] = a.first;
    this.n[slot] = a.n;
    this.scale[slot] = a.scale;
    this.hours[slot] = a.hours;
    this.hour[slot] = a.hour;
    this.bin[slot] = a.bin;
  }

  /** Five doubles and the one hour, and a column of the 24 hours' typed arrays (8 bytes a slot). */
  readonly slotBytes = 5 * 8 + 1 + REFERENCE_COLUMN_BYTES;

  extraBytes(slot: number): number {
    return this.hours[slot] ? HOURS_BYTES : 0;
  }

  free(slot: number): void {
    this.hours[slot] = undefined;
  }
}

/**
 * How unusual an hour is in a decayed 24-bin histogram: 0 at its peak, near 1 at an hour far from any seen; 0 empty.
 * Each hour is read with its neighbours (weights ½ at ±1 h, ¼ at ±2 h): someone seen at 9 and 11 is not unusual at
 * 10, and a sparse history (a day's two sessions) does not make every other hour of the day read as a night.
 */
function unusualHour(hours: ArrayLike<number>, n: number, hour: number, scale = 1): number {
  if (n === 0) return 0;
  let peak = 0;
  for (let h = 0; h < 24; h++) peak = Math.max(peak, smoothed(hours, h));
  return 1 - (smoothed(hours, hour) * scale + 0.5) / (peak * scale + 0.5);
}

function smoothed(hours: ArrayLike<number>, h: number): number {
  const at = (k: number) => hours[(h + k + 24) % 24] as number;
  return at(0) + 0.5 * (at(-1) + at(1)) + 0.25 * (at(-2) + at(2));
}

const utcHour = (t: number) => Math.floor(t / HOUR) % 24;

export interface TransactionOptions {
  maxKeys: number;
  /** Weight of each new payment in the running statistics (once the account has made 1/alpha payments). */
  alpha: number;
  /**
   * How many payments the population's spread of ln(amount) counts as (a prior's pseudo-count): the account's own
   * deviation weighs n / (n + priorPayments) after n payments. (The typical amount needs no such blend: the account's
   * own from its first payment on.)
   */
  priorPayments: number;
  /** Floor of the deviation in log space (0.25 ≈ ±28 %). */
  minDeviation: number;
  payeeTtlMs: number;
  maxPayees: number;
  /** Per-payment decay of the hour histogram. */
  hourDecay: number;
  /** Per-request decay of the principal's activity-hour histogram. */
  activityDecay: number;
  /** Payments before the account's own hours count beside the principal's activity hours (the more unusual wins). */
  minPaymentsForHours: number;
  /** Population prior: a typical payment amount (an account's first payment only) and the spread of ln(amount). */
  priorAmount: number;
  priorDeviation: number;
  /** Prior of an account's new-payee rate and its weight in payments (a Beta prior: rate × weight new of weight). */
  priorNewPayeeRate: number;
  priorNewPayeeWeight: number;
  /** Most a single payment's amount adds to the risk (nats): one outlier amount is not a drain by itself. */
  maxAmountSurprise: number;
  /** Most a payment's hour adds to the risk (nats). */
  maxHourSurprise: number;
  /** How long a principal is seen before its activity hours are a rhythm (tx_rhythm_known). */
  rhythmMs: number;
}

export class TransactionDeviation implements FeatureFamily {
  readonly id = 'TransactionDeviation';
  readonly features = TRANSACTION_FEATURES;
  /** An account belongs to the principal paying from it, so its state lives with the principal's. */
  readonly role = 'principal';
  readonly params: Record<string, number>;
  private readonly state: KeyedState<Account>;
  private readonly activity: KeyedState<Activity>;
  private readonly activityColumns = new ActivityColumns();
  /** The event's principal's activity, loaded from its columns for the event. */
  private readonly act: Activity = { last: 0, first: 0, n: 0, scale: 1, hours: undefined, hour: -1, bin: 0 };

  constructor(
    private readonly options: TransactionOptions = {
      maxKeys: 1_000_000,
      alpha: 0.05,
      priorPayments: 2,
      minDeviation: 0.25,
      payeeTtlMs: 180 * DAY,
      maxPayees: 256,
      hourDecay: 0.98,
      activityDecay: 0.995,
      minPaymentsForHours: 3,
      priorAmount: 50,
      priorDeviation: 1,
      priorNewPayeeRate: 0.2,
      priorNewPayeeWeight: 2,
      maxAmountSurprise: 6,
      maxHourSurprise: 3,
      rhythmMs: DAY,
    },
  ) {
    this.params = { ttl: 400 * DAY, ...options };
    this.state = new KeyedState({
      ttlMs: 400 * DAY,
      maxKeys: options.maxKeys,
      sizeOf: (a) => ACCOUNT_BYTES + a.recent.bytes + idMapBytes(a.payees.size),
    });
    this.activity = new KeyedState({
      ttlMs: 400 * DAY,
      maxKeys: options.maxKeys,
      columns: this.activityColumns,
      keyedBy: 'principal',
    });
  }

  get stores() {
    return { accounts: this.state, activity: this.activity };
  }

  update(event: AccessEvent, out: Float64Array, offset: number, principal: string): void {
    out.fill(0, offset, offset + TRANSACTION_FEATURES.names.length);
    const o = this.options;
    // Every request of the principal feeds its activity hours; a payment reads them before its own hour is added.
    const tx = event.tx;
    const slot = this.activity.slot(principal, event.ts, () => ({
      last: event.ts,
      first: event.ts,
      n: 0,
      scale: 1,
      hours: undefined,
      hour: -1,
      bin: 0,
    }));
    const act = this.activityColumns.load(slot, this.act);
    const actHour = utcHour(keyTime(act, event.ts));
    if (Number.isNaN(act.first)) act.first = act.last; // a checkpoint written before the field existed: seen from now
    const activityUnusual = countActivity(act, actHour, o.activityDecay, Boolean(tx));
    this.activityColumns.store(slot, act);
    // A second hour took the 24 bins' typed array: charged now, not at the principal's next request.
    this.activity.recharge(slot);
    if (!tx || !(tx.amount > 0)) return;
    const key = tx.account_id !== undefined ? `acct:${tx.account_id}` : principal;
    const a = this.state.get(key, event.ts, () => ({
      last: event.ts,
      n: 0,
      mean: 0,
      dev: 0,
      max: 0,
      payees: new Map(),
      hours: new Float32Array(24),
      recent: new SlidingCounts(RECENT_WINDOW),
      newPayees: 0,
      risk: 0,
      riskAt: event.ts,
      beforeBurst: 0,
      burstHourUnusual: 0,
      burstMinGap: Number.POSITIVE_INFINITY,
      burstMean: 0,
      burstDev: 1,
      burstNewPayeeRate: 1,
      burstAt: event.ts,
    }));
    const t = keyTime(a, event.ts);
    // A payment more than an hour after the account's last one, or an hour after the burst's first, starts a new burst
    // (the first payment, n = 0, too). startBurst sets every burst field together, so a checkpoint written before them
    // is the one without burstAt: its history then counts from now.
    const burstStarts = a.n === 0 || t - a.riskAt > HOUR || a.burstAt === undefined || t - a.burstAt > HOUR;
    if (burstStarts) this.startBurst(a, t);
    else a.burstMinGap = Math.min(a.burstMinGap, t - a.riskAt);
    const x = Math.log(tx.amount);

    // Score against what was known before the burst.
    const z = (x - a.burstMean) / a.burstDev;
    const ratio = Math.log2(tx.amount / Math.max(a.max, o.priorAmount));
    const seenAt = tx.payee_id === undefined ? undefined : a.payees.get(tx.payee_id);
    const newPayee = tx.payee_id !== undefined && (seenAt === undefined || t - seenAt > o.payeeTtlMs) ? 1 : 0;
    const hour = utcHour(t);
    // Once the account has paid a few times, the hour is as unusual as the more unusual of its two readings: for the
    // account's payments, and for everything the principal does (three payments at 9 a.m. say little about 4 a.m.;
    // hundreds of requests, none at night, do).
    const hourUnusual =
      a.n >= o.minPaymentsForHours ? Math.max(unusualHour(a.hours, a.n, hour), activityUnusual) : activityUnusual;
    if (burstStarts) a.burstHourUnusual = hourUnusual;
    // The hour's surprise in nats like the others: −ln of the hour's weight relative to the busiest (1 − unusual),
    // at the hour the burst began (a drain's own payments soon make its hour look usual to the account).
    const hourSurprise = Math.min(o.maxHourSurprise, -Math.log(1 - Math.max(hourUnusual, a.burstHourUnusual)));
    const surprise =
      newPayee * (-Math.log(a.burstNewPayeeRate) + Math.min(o.maxAmountSurprise, Math.max(0, z)) + hourSurprise);
    // What has decayed below a millionth of a nat is gone (no denormal residue in the vector).
    const kept = a.risk * Math.exp(-(t - a.riskAt) / HOUR);
    a.risk = (kept < 1e-6 ? 0 : kept) + surprise;
    a.riskAt = t;

    // Then learn from it: plain averages of the account's own payments until there are 1/alpha of them (a warm
    // start: an EWMA begun at its first value would take ~1/alpha payments to forget it), then an EWMA. The deviation
    // starts from no evidence, not from the population's spread: the prior's weight above says how much that counts.
    if (a.n === 0) {
      a.mean = x;
      a.dev = 0;
    } else {
      const devRate = Math.max(o.alpha, 1 / a.n);
      a.dev = (1 - devRate) * a.dev + devRate * Math.abs(x - a.mean);
      const meanRate = Math.max(o.alpha, 1 / (a.n + 1));
      a.mean = (1 - meanRate) * a.mean + meanRate * x;
    }
    a.n++;
    a.newPayees += newPayee;
    a.max = Math.max(a.max, tx.amount);
    if (tx.payee_id !== undefined) {
      a.payees.delete(tx.payee_id);
      a.payees.set(tx.payee_id, t);
      if (a.payees.size > o.maxPayees) a.payees.delete(a.payees.keys().next().value as string);
    }
    for (let h = 0; h < 24; h++) a.hours[h] = (a.hours[h] as number) * o.hourDecay;
    a.hours[hour] = (a.hours[hour] as number) + 1;
    a.recent.add(t);

    out[offset + F.tx_present] = 1;
    out[offset + F.tx_amount_z] = z;
    out[offset + F.tx_ratio_to_max_log2] = ratio;
    out[offset + F.tx_new_payee] = newPayee;
    out[offset + F.tx_hour_unusual] = hourUnusual;
    out[offset + F.tx_count_1h_log] = logCount(a.recent.count(0, t));
    out[offset + F.tx_conjunction] = newPayee * Math.max(0, z) * hourUnusual;
    out[offset + F.tx_risk_1h] = a.risk;
    out[offset + F.tx_history_log] = logCount(a.beforeBurst);
    out[offset + F.tx_burst_hour_unusual] = a.burstHourUnusual;
    // A burst's first payment has no pace yet: it reads as the slowest a burst can be (an hour).
    out[offset + F.tx_burst_gap_s_log] = Math.log1p(Math.min(a.burstMinGap, HOUR) / 1000);
    // One day's activity cannot say which hours are not the principal's own (a new business's first session reads
    // every other hour as unusual): its hours corroborate nothing until it has been seen for `rhythmMs`.
    out[offset + F.tx_rhythm_known] = t - act.first >= o.rhythmMs ? 1 : 0;
  }

  /** Marks the start of a burst: the history before it, and the account as it stands, to judge the burst against. */
  private startBurst(a: Account, t: number): void {
    const o = this.options;
    a.beforeBurst = a.n;
    a.burstMinGap = Number.POSITIVE_INFINITY;
    a.burstAt = t;
    // The typical amount is the account's own once it has paid (the population's only for its first payment); its
    // deviation weighs n / (n + priorPayments) against the population's (see the options).
    const w = a.n / (a.n + o.priorPayments);
    a.burstMean = a.n > 0 ? a.mean : Math.log(o.priorAmount);
    a.burstDev = Math.max(o.minDeviation, w * a.dev + (1 - w) * o.priorDeviation);
    a.burstNewPayeeRate = (a.newPayees + o.priorNewPayeeRate * o.priorNewPayeeWeight) / (a.n + o.priorNewPayeeWeight);
  }
}
