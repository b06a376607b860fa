// Scores feature vectors with the active bundle and, when one is set, a shadow bundle (scored and reported, never
// acted on). Bundles are swapped between micro-batches: a batch is scored wholly by the bundle that was active when
// it started, so a swap loses no event and splits none.
import type { Action, ModelBundle, Reason, Rows } from '@vigil/bundle';
import { learnedThresholds } from '@vigil/policy';

/** Each bundle's learned rule thresholds, read from its manifest once (bundles are immutable once loaded). */
const learnedOf = new WeakMap<ModelBundle, Readonly<Record<string, number>>>();
function rulesOf(bundle: ModelBundle): Readonly<Record<string, number>> {
  let learned = learnedOf.get(bundle);
  if (!learned) {
    learned = Object.freeze(learnedThresholds(bundle.manifest.rule_thresholds ?? []));
    learnedOf.set(bundle, learned);
  }
  return learned;
}

export interface Verdict {
  bundle: string;
  /** The bundle's learned rule thresholds (shared, never copied per row): the policy raises its rules to them. */
  rules: Readonly<Record<string, number>>;
  score: number;
  action: Action | 'allow';
  scores: { iforest: number; autoencoder: number };
  reasons: Reason[];
}

export interface ScoredRow {
  active: Verdict;
  shadow?: Verdict;
}

export interface ScorerOptions {
  /**
   * Reasons are computed for rows whose action is not 'allow' (explaining every request would cost a model pass each).
   */
  topReasons: number;
}

/** Per-row threshold overrides (the policy's, per route class); undefined rows use the bundle's. */
export type RowThresholds = ArrayLike<Partial<Record<Action, number>> | undefined>;

export class BundleScorer {
  private active: ModelBundle;
  private shadow: ModelBundle | undefined;
  swaps = 0;

  constructor(
    active: ModelBundle,
    private readonly options: ScorerOptions = { topReasons: 3 },
  ) {
    this.active = active;
  }

  get activeId(): string {
    return this.active.id;
  }

  get shadowId(): string | undefined {
    return this.shadow?.id;
  }

  /** Makes `next` the active bundle from the next batch on. It must read the same features. */
  swap(next: ModelBundle): void {
    if (next.manifest.features.hash !== this.active.manifest.features.hash) {
      throw new Error(
        `bundle ${next.id} reads feature schema ${next.manifest.features.hash}, ` +
          `the active one ${this.active.manifest.features.hash}: not swapped`,
      );
    }
    this.active = next;
    this.swaps++;
  }

  setShadow(shadow: ModelBundle | undefined): void {
    if (shadow && shadow.manifest.features.hash !== this.active.manifest.features.hash) {
      throw new Error(`shadow bundle ${shadow.id} reads another feature schema than the active one`);
    }
    this.shadow = shadow;
  }

  /** Scores a micro-batch; results in input order. */
  score(rows: Rows, thresholds?: RowThresholds): ScoredRow[] {
    const active = this.active;
    const shadow = this.shadow;
    const a = this.verdicts(active, rows, thresholds);
    const s = shadow ? this.verdicts(shadow, rows, thresholds) : undefined;
    return a.map((v, i) => (s ? { active: v, shadow: s[i] as Verdict } : { active: v }));
  }

  private verdicts(bundle: ModelBundle, rows: Rows, thresholds: RowThresholds | undefined): Verdict[] {
    const scored = bundle.score(rows);
    const out: Verdict[] = [];
    for (let i = 0; i < rows.rows; i++) {
      const score = scored.score[i] as number;
      const action = bundle.action(score, thresholds?.[i]);
      out.push({
        bundle: bundle.id,
        rules: rulesOf(bundle),
        score,
        action,
        scores: { iforest: scored.iforest[i] as number, autoencoder: scored.autoencoder[i] as number },
        reasons:
          action === 'allow'
            ? []
            : bundle.explain(
                rows.data.subarray(i * rows.cols, (i + 1) * rows.cols),
                {
                  iforestExceedance: scored.iforestExceedance[i] as number,
                  autoencoderExceedance: scored.autoencoderExceedance[i] as number,
                  // The batch already computed this row's reconstruction errors.
                  autoencoderErrors: scored.autoencoderErrors.subarray(i * rows.cols, (i + 1) * rows.cols),
                },
                this.options.topReasons,
              ),
      });
    }
    return out;
  }
}
