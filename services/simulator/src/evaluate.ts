// Detection quality over labelled simulator traffic: per attack family, how many attacks were detected (any request
// of the attack decided on), how many were enforced (throttled or revoked) and revoked, and how many attacker requests
// it took; on the benign side, false alerts and false revocations per 1,000 benign principals per day (a principal-day
// counts once however many of its requests were flagged). A principal-day an attacker acted under (a stolen token, a
// cracked password, a victim's account) is not benign: flagging the victim's own requests that day protects the
// account, and is counted apart (flaggedAttackedPrincipalDays) rather than as a false positive. Decisions come from
// `vigil replay` or the live detector.
import { type Decision, principalKey } from '@vigil/events';
import { ATTACK_FAMILIES, type AttackFamily, type AttackLabel } from './attacks.js';

export interface FamilyQuality {
  family: AttackFamily;
  attacks: number;
  detected: number;
  /** Attacks a request of which was throttled or revoked: stopped at the gateway, not only challenged or reported. */
  enforced: number;
  revoked: number;
  /**
   * Median 1-based index of the first decided request within detected attacks (of an even count, the mean of the
   * middle two).
   */
  medianRequestsToDetect: number | undefined;
  /** The attack ids no request of which was decided on (what to look at first). */
  missed: string[];
}

export interface Quality {
  families: FamilyQuality[];
  /**
   * Median 1-based index of the first decided request over every detected attack of every family (how early vigil
   * acts on an attack, whatever its kind); undefined when none was detected.
   */
  medianRequestsToDetect: number | undefined;
  benignPrincipalDays: number;
  /** Principal-days an attacker acted under, and how many of them had the victim's own requests flagged. */
  attackedPrincipalDays: number;
  flaggedAttackedPrincipalDays: number;
  falseAlertPrincipalDays: number;
  falseRevokePrincipalDays: number;
  falseAlertsPer1000: number;
  falseRevocationsPer1000: number;
}

const DAY = 86_400_000;

/** The principal a decision is about, keyed as the detector keys it. */
export const decisionPrincipal = (d: Decision) =>
  principalKey({ principal: d.principal, client_ip: d.principal.client_ip ?? '' });

/** The key of a principal-day, as `principalDays` holds them. */
export const principalDay = (principal: string, ts: number) => `${principal}|${Math.floor(ts / DAY)}`;

/** The principal-days an attacker acted under (principalDay keys): not benign. */
export const principalDaysUnderAttack = (labels: AttackLabel[]) =>
  new Set(labels.map((l) => principalDay(l.principal, l.ts)));

/**
 * @param principalDays every principal-day seen in the evaluated traffic (principalDay keys), attacked ones included
 */
export function evaluateDetection(
  decisions: Iterable<Decision>,
  labels: AttackLabel[],
  principalDays: ReadonlySet<string>,
): Quality {
  const byRequest = new Map<string, Decision>();
  for (const d of decisions) if (d.action !== 'allow') byRequest.set(d.request_id, d);
  const labelled = new Set(labels.map((l) => l.request_id));
  const attacks = new Map<string, AttackLabel[]>();
  for (const l of labels) {
    const list = attacks.get(l.attack_id) ?? [];
    list.push(l);
    attacks.set(l.attack_id, list);
  }
  const allFirsts: number[] = [];
  const families = ATTACK_FAMILIES.map((family): FamilyQuality => {
    const mine = [...attacks.values()].filter((a) => a[0]?.family === family);
    const firsts: number[] = [];
    let revoked = 0;
    let enforced = 0;
    const missed: string[] = [];
    for (const a of mine) {
      const i = a.findIndex((l) => byRequest.has(l.request_id));
      if (i >= 0) firsts.push(i + 1);
      else missed.push((a[0] as AttackLabel).attack_id);
      if (a.some((l) => byRequest.get(l.request_id)?.action === 'revoke')) revoked++;
      if (a.some((l) => ['revoke', 'throttle'].includes(byRequest.get(l.request_id)?.action ?? ''))) enforced++;
    }
    allFirsts.push(...firsts);
    return {
      family,
      attacks: mine.length,
      detected: firsts.length,
      enforced,
      revoked,
      medianRequestsToDetect: median(firsts),
      missed,
    };
  });
  const attacked = principalDaysUnderAttack(labels);
  const alerts = new Set<string>();
  const revokes = new Set<string>();
  const flaggedAttacked = new Set<string>();
  for (const d of byRequest.values()) {
    if (labelled.has(d.request_id)) continue;
    const key = principalDay(decisionPrincipal(d), d.ts);
    if (attacked.has(key)) {
      flaggedAttacked.add(key);
      continue;
    }
    alerts.add(key);
    if (d.action === 'revoke') revokes.add(key);
  }
  let benignPrincipalDays = 0;
  for (const key of principalDays) if (!attacked.has(key)) benignPrincipalDays++;
  return {
    families,
    medianRequestsToDetect: median(allFirsts),
    benignPrincipalDays,
    attackedPrincipalDays: attacked.size,
    flaggedAttackedPrincipalDays: flaggedAttacked.size,
    falseAlertPrincipalDays: alerts.size,
    falseRevokePrincipalDays: revokes.size,
    falseAlertsPer1000: (alerts.size / Math.max(1, benignPrincipalDays)) * 1000,
    falseRevocationsPer1000: (revokes.size / Math.max(1, benignPrincipalDays)) * 1000,
  };
}

/** The median of whole numbers (the mean of the middle two for an even count); undefined for none. */
function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
