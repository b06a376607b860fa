// The explicit rules: unambiguous patterns a model sees weakly (an isolation forest scores one feature at a time and
// cannot rank "ten times the training maximum" above "just past it"). Each reads named features of the request's
// vector — the same event-time features the models read, so rules are as deterministic as scores — and names the
// entity to act on. A rule whose features the schema lacks is off, and `inactiveRules` says so.
import { type Entity, FORGIVEN_LOGIN_FAILURES, type Principal } from '@vigil/events';
import type { PolicyConfig } from './config.js';
import { matchesPrefix } from './route-class.js';

export type Acting = 'alert' | 'throttle' | 'step_up' | 'revoke';

export interface RuleReason {
  feature: string;
  value: number;
  baseline: number;
  contribution: number;
}

export interface RuleHit {
  rule: string;
  action: Acting;
  entity: Entity;
  reason: RuleReason;
}

export interface RuleInput {
  /** A feature's value by name; undefined when the schema has no such feature. */
  feature: (name: string) => number | undefined;
  route: string;
  /** ISO country of the client IP; undefined when GeoIP does not know it (geo-fences then do not fire). */
  country?: string;
  ids: Principal;
}

/** Counts are stored as log1p(n); rules compare counts. */
const count = (v: number | undefined) => (v === undefined ? 0 : Math.round(Math.expm1(v)));

const hit = (rule: string, action: Acting, entity: Entity, feature: string, value: number, baseline: number): RuleHit => ({
  rule,
  action,
  entity,
  reason: { feature: `rule:${rule}:${feature}`, value, baseline, contribution: 1 },
});

interface Rule {
  name: keyof PolicyConfig['rules'];
  needs: string[];
  enabled: boolean;
  evaluate: (x: RuleInput) => RuleHit[];
}

export function buildRules(config: PolicyConfig['rules']): Rule[] {
  const travel = config.impossible_travel;
  const stuffed = config.stuffing_success;
  const ip = config.ip_stuffing;
  return [
    {
      name: 'impossible_travel',
      // geo_country_new and token_networks_1h_log refine it where the schema has them (without: every border jump
      // counts, and as a copied token).
      needs: ['geo_country_changed', 'geo_speed_kmh_log'],
      enabled: travel.enabled,
      evaluate: (x) => {
        const speed = Math.expm1(x.feature('geo_speed_kmh_log') ?? 0);
        if (x.feature('geo_country_changed') !== 1 || speed <= travel.min_speed_kmh) return [];
        if (travel.only_new_countries && x.feature('geo_country_new') === 0) return [];
        // The same token from a second network within the hour is a copied token; a fresh one is a new login.
        const networks = x.feature('token_networks_1h_log');
        const replayed = networks === undefined || count(networks) >= 2;
        return [
          hit('impossible_travel', replayed ? travel.action : travel.new_session_action, 'principal', 'geo_speed_kmh', Math.round(speed), travel.min_speed_kmh),
        ];
      },
    },
    {
      // A copied token where GeoIP cannot tell (an address it does not place, or places only by country): the same
      // token from another client and another network within minutes, which one person's session never does.
      name: 'token_replay',
      needs: ['token_agent_changed_10m', 'token_network_changed_10m'],
      enabled: config.token_replay.enabled,
      evaluate: (x) => {
        if (x.feature('token_agent_changed_10m') !== 1 || x.feature('token_network_changed_10m') !== 1) return [];
        return [hit('token_replay', config.token_replay.action, 'principal', 'token_agent_and_network_changed', 1, 0)];
      },
    },
    {
      name: 'enumeration',
      needs: ['denied_1h_log', 'distinct_objects_1h_log'],
      enabled: config.enumeration.enabled,
      evaluate: (x) => {
        const denied = count(x.feature('denied_1h_log'));
        const objects = count(x.feature('distinct_objects_1h_log'));
        if (denied < config.enumeration.min_denied || objects < config.enumeration.min_objects) return [];
        return [hit('enumeration', config.enumeration.action, 'principal', 'denied_1h', denied, config.enumeration.min_denied)];
      },
    },
    {
      name: 'velocity',
      needs: ['req_1m_log'],
      enabled: config.velocity.enabled,
      evaluate: (x) => {
        const perMinute = count(x.feature('req_1m_log'));
        if (perMinute <= config.velocity.max_per_minute) return [];
        return [hit('velocity', config.velocity.action, 'principal', 'req_1m', perMinute, config.velocity.max_per_minute)];
      },
    },
    {
      name: 'sustained_activity',
      needs: ['active_minutes_1h'],
      enabled: config.sustained_activity.enabled,
      evaluate: (x) => {
        const minutes = x.feature('active_minutes_1h') ?? 0;
        if (minutes < config.sustained_activity.min_active_minutes) return [];
        return [
          hit('sustained_activity', config.sustained_activity.action, 'principal', 'active_minutes_1h', minutes, config.sustained_activity.min_active_minutes),
        ];
      },
    },
    {
      name: 'payment_anomaly',
      needs: ['tx_conjunction'],
      enabled: config.payment_anomaly.enabled,
      evaluate: (x) => {
        const c = x.feature('tx_conjunction') ?? 0;
        if (c < config.payment_anomaly.min_conjunction) return [];
        return [
          hit(
            'payment_anomaly',
            config.payment_anomaly.action,
            'principal',
            'tx_conjunction',
            Math.round(c * 100) / 100,
            config.payment_anomaly.min_conjunction,
          ),
        ];
      },
    },
    {
      name: 'stuffing_success',
      needs: ['success_after_failures_log'],
      enabled: stuffed.enabled,
      evaluate: (x) => {
        // The feature forgives the first failure (a typo): it counts the ones beyond it.
        const failures = count(x.feature('success_after_failures_log')) + FORGIVEN_LOGIN_FAILURES;
        if (failures < stuffed.min_failures) return [];
        return [hit('stuffing_success', stuffed.action, 'principal', 'failures_before_success', failures, stuffed.min_failures)];
      },
    },
    {
      name: 'ip_stuffing',
      needs: ['ip_failed_logins_10m_log', 'ip_distinct_usernames_10m_log'],
      enabled: ip.enabled,
      evaluate: (x) => {
        const failures = count(x.feature('ip_failed_logins_10m_log')) + FORGIVEN_LOGIN_FAILURES;
        const usernames = count(x.feature('ip_distinct_usernames_10m_log'));
        // Many users behind one address (carrier NAT, an office proxy) fail logins too: a shared IP needs more.
        const needed = usernames >= ip.shared_ip_usernames ? ip.min_failures * ip.shared_ip_factor : ip.min_failures;
        if (usernames < ip.min_usernames || failures < needed) return [];
        return [hit('ip_stuffing', ip.action, 'ip', 'ip_failed_logins_10m', failures, needed)];
      },
    },
    {
      name: 'geo_fence',
      needs: [],
      enabled: config.geo_fence.length > 0,
      evaluate: (x) => {
        if (x.country === undefined) return [];
        const country = x.country;
        const out: RuleHit[] = [];
        for (const fence of config.geo_fence) {
          if (!matchesPrefix(x.route, fence.route_prefix)) continue;
          const outside = (fence.allow && !fence.allow.includes(country)) || fence.deny?.includes(country);
          if (outside) out.push({ ...hit('geo_fence', fence.action, 'principal', `country:${country}`, 1, 0), rule: 'geo_fence' });
        }
        return out;
      },
    },
  ];
}
