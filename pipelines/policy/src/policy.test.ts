import { describe, expect, it } from 'vitest';
import { lintPolicyConfig, type PolicyConfig, policyConfigSchema } from './config.js';
import { DecisionPolicy, type ModelVerdict, type PolicyInput } from './policy.js';
import { learnedThresholds, RuleThresholdFitter } from './rule-fit.js';

const NAMES = [
  'geo_country_changed',
  'geo_speed_kmh_log',
  'success_after_failures_log',
  'ip_failed_logins_10m_log',
  'ip_distinct_usernames_10m_log',
  'req_1m_log',
  'req_1m_own_peak_log',
  'geo_country_new',
  'token_networks_1h_log',
  'denied_1h_log',
  'distinct_objects_1h_log',
  'active_minutes_1h',
  'tx_conjunction',
  'tx_risk_1h',
  'tx_present',
  'tx_count_1h_log',
  'tx_history_log',
  'tx_burst_hour_unusual',
  'tenant_failure_ratio_1m',
  'login_success',
  'token_agent_changed_10m',
  'token_network_changed_10m',
];
const config = (over: unknown = {}): PolicyConfig => policyConfigSchema.parse(over);
const allow: ModelVerdict = { score: 0.1, action: 'allow', scores: { iforest: 0.1, autoencoder: 0.1 }, reasons: [] };

function input(features: Record<string, number>, over: Partial<PolicyInput> = {}): PolicyInput {
  const v = NAMES.map((n) => features[n] ?? 0);
  return {
    v,
    ctx: { route: '/v1/accounts/{id}', method: 'GET', status: 200 },
    ids: { sub: 'alice', client_ip: '10.0.0.1' },
    model: allow,
    ...over,
  };
}
const log = (n: number) => Math.log1p(n);

describe('decision policy', () => {
  it('lets the model alone decide when no rule fires, about the principal, up to a step-up', () => {
    const p = new DecisionPolicy(config(), NAMES);
    expect(p.decide(input({})).action).toBe('allow');
    const revoking = {
      model: {
        ...allow,
        score: 0.999,
        action: 'revoke' as const,
        reasons: [{ feature: 'req_1m_log', value: 5, baseline: 1, contribution: 0.7 }],
      },
    };
    const d = p.decide(input({}, revoking));
    // A score alone earns a challenge: ending a session takes a rule to corroborate it (policy.model_alone_action).
    expect(d).toMatchObject({
      action: 'step_up',
      entity: 'principal',
      score: 0.999,
      rules: [],
      route_class: 'default',
    });
    expect(d.scores.rules).toBeUndefined();
    expect(d.reasons.map((r) => r.feature)).toEqual(['req_1m_log']);
    // Corroborated by a rule that acts (here a throttling one), the models keep their revoke.
    expect(p.decide(input({ req_1m_log: log(61) }, revoking))).toMatchObject({ action: 'revoke', rules: ['velocity'] });
    // An alert-level rule is a notice, not a second signal: a probe's first sign leaves the score at a challenge.
    const probe = { denied_1h_log: log(3), distinct_objects_1h_log: log(3) };
    expect(p.decide(input(probe, revoking))).toMatchObject({ action: 'step_up', rules: ['enumeration_probe'] });
    expect(new DecisionPolicy(config({ model_alone_action: 'revoke' }), NAMES).decide(input({}, revoking)).action).toBe(
      'revoke',
    );
  });

  it(
    'revokes a copied token that jumps a border impossibly fast, steps up a fresh login that does; ' +
      'not a fast hop inside one country, a slow crossing nor a known country',
    () => {
      const p = new DecisionPolicy(config(), NAMES);
      const jump = { geo_country_changed: 1, geo_speed_kmh_log: log(8400), geo_country_new: 1 };
      const d = p.decide(input({ ...jump, token_networks_1h_log: log(2) }));
      expect(d).toMatchObject({
        action: 'revoke',
        entity: 'principal',
        rules: ['impossible_travel'],
        scores: { rules: 1 },
      });
      expect(d.reasons[0]).toEqual({
        feature: 'rule:impossible_travel:geo_speed_kmh',
        value: 8400,
        baseline: 1000,
        contribution: 1,
      });
      expect(p.decide(input({ ...jump, token_networks_1h_log: log(1) })).action).toBe('step_up');
      expect(p.decide(input({ ...jump, geo_country_changed: 0 })).action).toBe('allow');
      expect(p.decide(input({ ...jump, geo_speed_kmh_log: log(600) })).action).toBe('allow');
      expect(p.decide(input({ ...jump, geo_country_new: 0 })).action).toBe('allow');
      const anyCountry = new DecisionPolicy(
        config({ rules: { impossible_travel: { only_new_countries: false } } }),
        NAMES,
      );
      expect(anyCountry.decide(input({ ...jump, geo_country_new: 0 })).action).toBe('step_up');
    },
  );

  it(
    'revokes a login from a new country that succeeds while the ' +
      "tenant's logins fail at a surge (distributed stuffing's catch)",
    () => {
      const p = new DecisionPolicy(config(), NAMES);
      const login = { geo_country_changed: 1, geo_speed_kmh_log: log(300), geo_country_new: 1, login_success: 1 };
      expect(p.decide(input({ ...login, tenant_failure_ratio_1m: 2.5 }))).toMatchObject({
        action: 'revoke',
        rules: ['surge_login'],
      });
      // An ordinary minute's traveller, a surge minute's login at home, and a failed attempt (acting on it would lock
      // its victim out for the attacker) are not the surge's catch.
      expect(p.decide(input({ ...login, tenant_failure_ratio_1m: 1.5 })).action).toBe('allow');
      expect(p.decide(input({ ...login, geo_country_changed: 0, tenant_failure_ratio_1m: 4 })).action).toBe('allow');
      expect(p.decide(input({ ...login, login_success: 0, tenant_failure_ratio_1m: 4 })).action).toBe('allow');
      // A traveller on their own phone (a client the principal is known to use) is not the surge's catch either; an
      // address GeoIP cannot place counts like a new country.
      const withDevices = new DecisionPolicy(config(), [...NAMES, 'agent_known', 'geo_known']);
      const devices = (f: Record<string, number>) =>
        withDevices.decide({ ...input({}), v: [...NAMES, 'agent_known', 'geo_known'].map((n) => f[n] ?? 0) }).action;
      expect(devices({ ...login, geo_known: 1, tenant_failure_ratio_1m: 4, agent_known: 1 })).toBe('allow');
      expect(devices({ ...login, geo_known: 1, tenant_failure_ratio_1m: 4, agent_known: 0 })).toBe('revoke');
      expect(devices({ login_success: 1, geo_known: 0, tenant_failure_ratio_1m: 4, agent_known: 0 })).toBe('revoke');
      const challengeOnly = new DecisionPolicy(config({ rules: { surge_login: { action: 'step_up' } } }), NAMES);
      expect(challengeOnly.decide(input({ ...login, tenant_failure_ratio_1m: 4 })).action).toBe('step_up');
    },
  );

  it(
    'revokes an enumeration of other customers’ objects, throttles a flood, ' +
      'alerts on a paced script, steps up an anomalous payment',
    () => {
      const p = new DecisionPolicy(config(), NAMES);
      expect(p.decide(input({ denied_1h_log: log(12), distinct_objects_1h_log: log(14) }))).toMatchObject({
        action: 'revoke',
        rules: ['enumeration', 'enumeration_probe'],
      });
      // Refusals on one object (a stale bookmark retried) are not enumeration.
      expect(p.decide(input({ denied_1h_log: log(12), distinct_objects_1h_log: log(1) })).action).toBe('allow');
      // Refusals on a few objects are a probe's alert at most, never enforcement.
      expect(p.decide(input({ denied_1h_log: log(12), distinct_objects_1h_log: log(2) })).action).toBe('alert');
      // Its first refusals over as many objects are an alert (the probe), before enough to revoke.
      expect(p.decide(input({ denied_1h_log: log(2), distinct_objects_1h_log: log(2) }))).toMatchObject({
        action: 'alert',
        rules: ['enumeration_probe'],
      });
      expect(p.decide(input({ denied_1h_log: log(1), distinct_objects_1h_log: log(3) })).action).toBe('allow');
      expect(p.decide(input({ req_1m_log: log(61) }))).toMatchObject({ action: 'throttle', rules: ['velocity'] });
      expect(p.decide(input({ req_1m_log: log(60) })).action).toBe('allow');
      // Within the principal's own habit (1.5 × its busiest minute on earlier days) a burst is its norm.
      expect(p.decide(input({ req_1m_log: log(90), req_1m_own_peak_log: log(70) })).action).toBe('allow');
      expect(p.decide(input({ req_1m_log: log(106), req_1m_own_peak_log: log(70) }))).toMatchObject({
        action: 'throttle',
        rules: ['velocity'],
      });
      expect(p.decide(input({ active_minutes_1h: 20 }))).toMatchObject({
        action: 'alert',
        rules: ['sustained_activity'],
      });
      expect(p.decide(input({ active_minutes_1h: 19 })).action).toBe('allow');
      const pay = p.decide(input({ tx_risk_1h: 7.2 }));
      expect(pay).toMatchObject({ action: 'step_up', rules: ['payment_anomaly'] });
      expect(pay.reasons[0]).toMatchObject({ feature: 'rule:payment_anomaly:tx_risk_1h', value: 7.2, baseline: 5 });
      expect(p.decide(input({ tx_risk_1h: 4.9 })).action).toBe('allow');
      // A token from another client and another network within minutes is a copy, wherever GeoIP places it.
      expect(p.decide(input({ token_agent_changed_10m: 1, token_network_changed_10m: 1 }))).toMatchObject({
        action: 'revoke',
        rules: ['token_replay'],
      });
      expect(p.decide(input({ token_network_changed_10m: 1 })).action).toBe('allow');
    },
  );

  it('steps up a login that succeeds after a burst of failures', () => {
    const p = new DecisionPolicy(config(), NAMES);
    // The feature counts failures beyond the first: log(11) is 12 failures, log(8) is 9.
    expect(p.decide(input({ success_after_failures_log: log(11) }))).toMatchObject({
      action: 'step_up',
      entity: 'principal',
      rules: ['stuffing_success'],
    });
    expect(p.decide(input({ success_after_failures_log: log(8) })).action).toBe('allow');
  });

  it('throttles a stuffing IP, and asks a shared IP (carrier NAT) for four times the failures', () => {
    const p = new DecisionPolicy(config(), NAMES);
    const login = { ids: { username: 'bob', client_ip: '203.0.113.9' } };
    const decide = (failuresBeyondFirst: number, usernames: number) =>
      p.decide(
        input(
          { ip_failed_logins_10m_log: log(failuresBeyondFirst), ip_distinct_usernames_10m_log: log(usernames) },
          login,
        ),
      );
    // The feature counts failures beyond the first (a typo): log(29) is 30 failures.
    expect(decide(29, 12)).toMatchObject({
      action: 'throttle',
      entity: 'ip',
      rules: ['ip_stuffing', 'ip_stuffing_probe'],
    });
    // Below the throttle, the probe alerts about the address from its 3rd failure over 3 usernames.
    expect(decide(28, 12)).toMatchObject({ action: 'alert', entity: 'ip', rules: ['ip_stuffing_probe'] });
    expect(decide(2, 3)).toMatchObject({ action: 'alert', rules: ['ip_stuffing_probe'] });
    expect(decide(1, 3).action).toBe('allow');
    // Few usernames: one user mistyping is not stuffing.
    expect(decide(40, 2).action).toBe('allow');
    expect(decide(40, 3).rules).toEqual(['ip_stuffing_probe']);
    // 60 users behind the address: 30 failures are what that many users produce (the probe's 7.5 shared units
    // alert, no more); 120 are not. The probe asks a shared address for 12 (3 units), not 11.
    expect(decide(29, 60)).toMatchObject({ action: 'alert', rules: ['ip_stuffing_probe'] });
    expect(decide(11, 60)).toMatchObject({ action: 'alert', rules: ['ip_stuffing_probe'] });
    expect(decide(10, 60).action).toBe('allow');
    const nat = decide(119, 60);
    expect(nat).toMatchObject({ action: 'throttle', entity: 'ip' });
    expect(nat.reasons[0]).toMatchObject({ value: 120, baseline: 120 });
    // A threshold learned from traffic whose addresses fail more (justPast: just above 36 failures) moves both the
    // plain and the shared bar; the reason gives the fewest failures that fire.
    const learned = { ip_stuffing: 36.000000036 };
    const fitted = (beyondFirst: number, usernames: number) =>
      p.decide({
        ...input({ ip_failed_logins_10m_log: log(beyondFirst), ip_distinct_usernames_10m_log: log(usernames) }, login),
        learned,
      });
    expect(fitted(35, 12).action).toBe('alert');
    expect(fitted(36, 12)).toMatchObject({ action: 'throttle', entity: 'ip' });
    expect(fitted(36, 12).reasons[0]).toMatchObject({ value: 37, baseline: 37 });
    expect(fitted(143, 60).action).toBe('alert');
    expect(fitted(144, 60).reasons[0]).toMatchObject({ value: 145, baseline: 145 });
  });

  it('fences routes by country: allow lists, deny lists, and no verdict where GeoIP does not know the country', () => {
    const p = new DecisionPolicy(
      config({
        rules: {
          geo_fence: [
            { route_prefix: '/v1/payments', allow: ['DE', 'AT'] },
            { route_prefix: '/admin', deny: ['KP'], action: 'revoke' },
          ],
        },
      }),
      NAMES,
    );
    const at = (route: string, country?: string) =>
      p.decide(input({}, { ctx: { route, method: 'POST', status: 200, ...(country ? { country } : {}) } }));
    expect(at('/v1/payments/{id}', 'DE').action).toBe('allow');
    expect(at('/v1/payments/{id}', 'FR')).toMatchObject({ action: 'step_up', rules: ['geo_fence'] });
    expect(at('/v1/payments/{id}', 'FR').reasons[0]?.feature).toBe('rule:geo_fence:country:FR');
    expect(at('/v1/paymentsx', 'FR').action).toBe('allow');
    expect(at('/v1/payments/{id}').action).toBe('allow');
    expect(at('/admin/users', 'KP').action).toBe('revoke');
    expect(at('/admin/users', 'DE').action).toBe('allow');
  });

  it('takes the strongest proposal; on a tie the rule, with its entity', () => {
    const p = new DecisionPolicy(config(), NAMES);
    const stuffing = { ip_failed_logins_10m_log: log(50), ip_distinct_usernames_10m_log: log(20) };
    const login = { username: 'bob', client_ip: '203.0.113.9' };
    // On the stuffing address's logins: the model's revoke (uncapped: a rule fires) beats the rule's throttle; both
    // reasons are kept, the rule's first.
    const model: ModelVerdict = {
      ...allow,
      score: 0.9999,
      action: 'revoke',
      reasons: [{ feature: 'req_1m_log', value: 9, baseline: 1, contribution: 0.5 }],
    };
    const strict = new DecisionPolicy(config({ login_model_action: 'revoke' }), NAMES);
    const d = strict.decide(input(stuffing, { model, ids: login }));
    expect(d).toMatchObject({ action: 'revoke', entity: 'principal', rules: ['ip_stuffing', 'ip_stuffing_probe'] });
    expect(d.reasons.map((r) => r.feature)).toEqual([
      'rule:ip_stuffing:ip_failed_logins_10m',
      'rule:ip_stuffing_probe:ip_failed_logins_10m',
      'req_1m_log',
    ]);
    // An alert from the model loses to the rule's throttle of the IP.
    expect(p.decide(input(stuffing, { model: { ...model, action: 'alert' }, ids: login }))).toMatchObject({
      action: 'throttle',
      entity: 'ip',
    });
    // A session used from the stuffing address is an account it cracked: its principal is revoked by the rule itself,
    const session = p.decide(input(stuffing));
    expect(session).toMatchObject({
      action: 'revoke',
      entity: 'principal',
      rules: ['ip_stuffing', 'ip_stuffing_probe'],
    });
    expect(session.reasons[0]?.feature).toBe('rule:ip_stuffing:session_from_stuffing_ip');
    // …also from an address with many usernames (stuffing tries many; it must then fail four times as often).
    expect(
      p.decide(input({ ip_failed_logins_10m_log: log(250), ip_distinct_usernames_10m_log: log(140) })),
    ).toMatchObject({
      action: 'revoke',
      entity: 'principal',
    });
    // (Below four times, the session is not revoked: the probe only alerts about the address.)
    expect(
      p.decide(input({ ip_failed_logins_10m_log: log(60), ip_distinct_usernames_10m_log: log(140) })),
    ).toMatchObject({ action: 'alert', entity: 'ip', rules: ['ip_stuffing_probe'] });
  });

  it('acts on the IP when the principal has no credential, and only alerts when that IP is shared', () => {
    const p = new DecisionPolicy(config(), NAMES);
    const model: ModelVerdict = { ...allow, score: 0.9999, action: 'revoke' };
    const anonymous = { client_ip: '203.0.113.9' };
    expect(p.decide(input({}, { model, ids: anonymous }))).toMatchObject({ action: 'throttle', entity: 'ip' });
    expect(p.decide(input({ ip_distinct_usernames_10m_log: log(80) }, { model, ids: anonymous }))).toMatchObject({
      action: 'alert',
      entity: 'ip',
    });
    // A login (a username, no token): the models alone only alert by default (policy.login_model_action).
    expect(p.decide(input({}, { model, ids: { ...anonymous, username: 'bob' } }))).toMatchObject({
      action: 'alert',
      entity: 'principal',
    });
    const strict = new DecisionPolicy(config({ login_model_action: 'revoke', model_alone_action: 'revoke' }), NAMES);
    expect(strict.decide(input({}, { model, ids: { ...anonymous, username: 'bob' } }))).toMatchObject({
      action: 'revoke',
      entity: 'principal',
    });
    // A token's principal is not capped as a login; alone, the models step it up.
    expect(p.decide(input({}, { model, ids: { ...anonymous, sub: 'cust-1' } }))).toMatchObject({
      action: 'step_up',
      entity: 'principal',
    });
  });

  it('maps routes to classes by the longest whole-segment prefix and applies their threshold overrides', () => {
    const p = new DecisionPolicy(
      config({
        route_classes: { payments: ['/v1/payments'], refunds: ['/v1/payments/{id}/refunds'], login: ['/oauth/token'] },
        thresholds: { payments: { alert: 0.95 }, default: { revoke: 0.9999 } },
      }),
      NAMES,
    );
    expect(p.routeClass('/v1/payments')).toBe('payments');
    expect(p.routeClass('/v1/payments/{id}')).toBe('payments');
    expect(p.routeClass('/v1/payments/{id}/refunds')).toBe('refunds');
    expect(p.routeClass('/v1/paymentsabc')).toBe('default');
    expect(p.thresholdsFor('/v1/payments/{id}')).toEqual({ alert: 0.95 });
    expect(p.thresholdsFor('/v1/accounts')).toEqual({ revoke: 0.9999 });
    expect(p.thresholdsFor('/oauth/token')).toBeUndefined();
    expect(p.decide(input({}, { ctx: { route: '/oauth/token', method: 'POST', status: 200 } })).route_class).toBe(
      'login',
    );
  });

  it('names the tenant by client id, service or route prefix', () => {
    const byClient = new DecisionPolicy(config({ tenant: { by: 'client_id' } }), NAMES);
    expect(byClient.decide(input({}, { ids: { sub: 'a', client_id: 'mobile-app' } })).tenant).toBe('mobile-app');
    const byPrefix = new DecisionPolicy(
      config({ tenant: { by: 'route_prefix', route_prefixes: { retail: ['/v1'], corporate: ['/corp'] } } }),
      NAMES,
    );
    expect(byPrefix.decide(input({}, { ctx: { route: '/corp/payroll', method: 'POST', status: 200 } })).tenant).toBe(
      'corporate',
    );
    expect(new DecisionPolicy(config(), NAMES).decide(input({})).tenant).toBeUndefined();
  });

  it('turns off, and reports, enabled rules the feature schema cannot feed', () => {
    const p = new DecisionPolicy(config(), ['req_1m_log']);
    expect(p.inactiveRules).toEqual([
      'impossible_travel',
      'token_replay',
      'enumeration',
      'enumeration_probe',
      'sustained_activity',
      'payment_anomaly',
      'stuffing_success',
      'surge_login',
      'ip_stuffing',
      'ip_stuffing_probe',
    ]);
    expect(p.decide({ ...input({}), v: [3] }).action).toBe('allow');
  });

  it('lints configs with messages that say how to fix them', () => {
    expect(lintPolicyConfig(config())).toEqual([]);
    const problems = lintPolicyConfig(
      config({
        route_classes: { a: ['/x'], b: ['/x'] },
        thresholds: { c: { alert: 0.5 }, a: { alert: 0.9, revoke: 0.5 } },
        rules: { geo_fence: [{ route_prefix: '/p' }] },
        tenant: { by: 'route_prefix' },
      }),
    );
    expect(problems.join('\n')).toMatch(/route class "c", which policy.route_classes does not define/);
    expect(problems.join('\n')).toMatch(/\/x is in both route classes "a" and "b"/);
    expect(problems.join('\n')).toMatch(/must not fall/);
    expect(problems.join('\n')).toMatch(/needs an allow or a deny list/);
    expect(problems.join('\n')).toMatch(/route_prefixes is empty/);
    expect(() => policyConfigSchema.parse({ rules: { geo_fence: [{ route_prefix: '/p', allow: ['de'] }] } })).toThrow(
      /alpha-2/,
    );
  });
});

describe('rule thresholds learned from benign traffic', () => {
  const DAY = 86_400_000;
  /**
   * 4,000 retail principals at ≤ 20 requests a minute over 4 days; 200 business accounts whose payroll runs reach
   * 150.
   */
  function population(fitter: RuleThresholdFitter) {
    for (let day = 0; day < 4; day++) {
      for (let p = 0; p < 4200; p++) {
        const business = p >= 4000;
        const perMinute = business ? 90 + ((p * 7 + day * 13) % 61) : 3 + ((p * 11 + day) % 18);
        const v = NAMES.map((n) =>
          n === 'req_1m_log' ? log(perMinute) : n === 'tx_risk_1h' ? ((p * 31 + day) % 100) / 25 : 0,
        );
        fitter.add(v, `sub:${business ? 'biz' : 'cust'}-${p}`, day * DAY + 3_600_000);
      }
    }
  }

  it(
    'fits each rule for its target rate per principal-day, ' +
      'on principals it did not fit on, with the constant as the floor',
    () => {
      const fitter = new RuleThresholdFitter(config().rules, NAMES);
      population(fitter);
      const fits = fitter.finish();
      const velocity = fits.find((f) => f.rule === 'velocity');
      // The payroll runs (up to 150 a minute) are this traffic's norm: throttling starts past them, not at 60.
      // 0.01 % of ~10,000 fit principal-days is one: resolved, and the threshold sits past the highest payroll run.
      expect(velocity).toMatchObject({
        source: 'fitted',
        prior: 60,
        action: 'throttle',
        target_principal_day_fpr: 0.0001,
        resolved: true,
      });
      expect(velocity?.threshold).toBeGreaterThanOrEqual(150);
      expect(velocity?.holdout_fpr).toBeLessThanOrEqual(0.0001 * 3);
      expect(velocity?.fit_principal_days).toBeGreaterThan(9000);
      expect(velocity?.holdout_principal_days).toBeGreaterThan(2000);
      // Nothing in this traffic comes near the payment rule's constant: it stays the threshold.
      const payment = fits.find((f) => f.rule === 'payment_anomaly');
      expect(payment).toMatchObject({ source: 'prior', threshold: 5 });
      expect(payment?.fitted).toBeLessThan(5);
      expect(learnedThresholds(fits)).toEqual({ velocity: velocity?.threshold });
    },
  );

  it(
    "fits bursts that outnumber an account's history apart, " +
      "so a business's first payroll does not set the bar for a drain",
    () => {
      const fitter = new RuleThresholdFitter(config().rules, NAMES);
      // 4,000 retail principals paying now and then (risk 0–4 nats, one payment an hour, five or more before); on day
      // 1, 200 businesses' first payroll runs (risk 40–70, 50 payments in the hour after 3 before, at their usual
      // hour).
      for (let day = 0; day < 4; day++) {
        for (let p = 0; p < 4200; p++) {
          const firstPayroll = p >= 4000 && day === 1;
          const features: Record<string, number> = firstPayroll
            ? {
                tx_present: 1,
                tx_risk_1h: 40 + ((p * 7) % 31),
                tx_history_log: log(3),
                tx_count_1h_log: log(50),
                tx_burst_hour_unusual: 0.1,
              }
            : {
                tx_present: 1,
                tx_risk_1h: ((p * 31 + day) % 100) / 25,
                tx_history_log: log(5 + day),
                tx_count_1h_log: log(1),
                tx_burst_hour_unusual: 0.3,
              };
          fitter.add(
            NAMES.map((n) => features[n] ?? 0),
            `sub:p${p}`,
            day * DAY,
          );
        }
      }
      const fits = fitter.finish().filter((f) => f.rule === 'payment_anomaly');
      const main = fits.find((f) => f.stratum === undefined);
      const coldBursts = fits.find((f) => f.stratum === 'cold_burst');
      // Fitted together, the payroll runs would lift the bar to ~70 nats; apart, the main traffic keeps its constant.
      // The cold bursts' share of the budget (1.2 % of the days) cannot show 0.1 %: their bar sits past the highest of
      // their days — not capped at three times the constant, which would fire on nearly every one of them.
      expect(main).toMatchObject({ threshold: 5, source: 'prior' });
      expect(coldBursts).toMatchObject({ source: 'fitted', resolved: false });
      expect(coldBursts?.threshold).toBeGreaterThan(65);
      expect(coldBursts?.fit_principal_days).toBeGreaterThan(100);
      const learned = learnedThresholds(fits);
      expect(learned).toEqual({ 'payment_anomaly~cold_burst': coldBursts?.threshold });
      const p = new DecisionPolicy(config(), NAMES);
      const pays = (risk: number, history: number, burst: number, burstHourUnusual: number) =>
        p.decide({
          ...input({
            tx_present: 1,
            tx_risk_1h: risk,
            tx_history_log: log(history),
            tx_count_1h_log: log(burst),
            tx_burst_hour_unusual: burstHourUnusual,
          }),
          learned,
        }).action;
      expect(pays(12, 8, 3, 0.1)).toBe('step_up');
      // A burst that outnumbers the account's history, begun at its principal's usual hour, is judged with such
      // bursts...
      expect(pays(60, 2, 3, 0.1)).toBe('allow');
      expect(pays(75, 2, 3, 0.1)).toBe('step_up');
      // ...unless it began at an hour unusual for the principal: the second signal puts it back with every account.
      expect(pays(12, 2, 3, 0.9)).toBe('step_up');
    },
  );

  it(
    'fits machine-paced bursts apart, judges only payments ' +
      'to new payees, and needs a day of rhythm to corroborate',
    () => {
      const names = [...NAMES, 'tx_new_payee', 'tx_burst_gap_s_log', 'tx_rhythm_known'];
      const vector = (f: Record<string, number>) => names.map((n) => f[n] ?? 0);
      const typed = { tx_present: 1, tx_new_payee: 1, tx_burst_gap_s_log: log(30), tx_rhythm_known: 1 };
      const fitter = new RuleThresholdFitter(config().rules, names);
      // 4,000 retail principals paying a new payee now and then (risk 0–4 nats, typed in, five or more before); 400
      // businesses whose payroll files (40–70 nats, 0.5 s apart) are followed an hour later by a payment to a known
      // employee that still carries half the run's risk.
      for (let day = 0; day < 4; day++) {
        for (let p = 0; p < 4400; p++) {
          const at = day * DAY;
          if (p < 4000) {
            const risk = ((p * 31 + day) % 100) / 25;
            fitter.add(
              vector({ ...typed, tx_risk_1h: risk, tx_history_log: log(5 + day), tx_count_1h_log: log(1) }),
              `sub:p${p}`,
              at,
            );
            continue;
          }
          const run = { tx_present: 1, tx_history_log: log(50 * day + 3), tx_count_1h_log: log(50) };
          const risk = 40 + ((p * 7) % 31);
          fitter.add(
            vector({ ...run, tx_new_payee: 1, tx_risk_1h: risk, tx_burst_gap_s_log: log(0.5) }),
            `sub:p${p}`,
            at,
          );
          const later = { ...run, tx_new_payee: 0, tx_risk_1h: risk / 2, tx_burst_gap_s_log: log(3600) };
          fitter.add(vector(later), `sub:p${p}`, at + 1000);
        }
      }
      const fits = fitter.finish().filter((f) => f.rule === 'payment_anomaly');
      // Neither the runs nor the known-payee payments after them lift the main traffic's bar above its constant.
      expect(fits.find((f) => f.stratum === undefined)).toMatchObject({ threshold: 5, source: 'prior' });
      const batch = fits.find((f) => f.stratum === 'batch');
      expect(batch?.threshold).toBeGreaterThan(65);
      const learned = learnedThresholds(fits);
      const p = new DecisionPolicy(config(), names);
      const pays = (f: Record<string, number>) => p.decide({ ...input({}), v: vector(f), learned }).action;
      const drain = { ...typed, tx_risk_1h: 12, tx_history_log: log(8), tx_count_1h_log: log(3) };
      expect(pays(drain)).toBe('step_up');
      // The same risk paid 0.5 s apart is judged with the payroll files; paid to a known payee, not judged.
      expect(pays({ ...drain, tx_burst_gap_s_log: log(0.5) })).toBe('allow');
      expect(pays({ ...drain, tx_new_payee: 0 })).toBe('allow');
      // A principal seen for less than a day has no rhythm: its burst is a cold start even at an unusual hour.
      const newcomer = { ...drain, tx_history_log: log(0), tx_burst_hour_unusual: 0.9 };
      expect(
        p.decide({ ...input({}), v: vector(newcomer), learned: { 'payment_anomaly~cold_burst': 20 } }).action,
      ).toBe('step_up');
      expect(
        p.decide({
          ...input({}),
          v: vector({ ...newcomer, tx_rhythm_known: 0 }),
          learned: { 'payment_anomaly~cold_burst': 20 },
        }).action,
      ).toBe('allow');
    },
  );

  it('raises a constant at most threefold on evidence the log cannot resolve (one outlying day)', () => {
    const fitter = new RuleThresholdFitter(config().rules, NAMES);
    for (let p = 0; p < 3000; p++)
      fitter.add(
        NAMES.map((n) => (n === 'req_1m_log' ? log(p === 7 ? 5000 : 20) : 0)),
        `sub:p${p}`,
        0,
      );
    const velocity = fitter.finish().find((f) => f.rule === 'velocity');
    expect(velocity).toMatchObject({ resolved: false, source: 'fitted', threshold: 180 });
  });

  it('gives a cohort its own threshold, shrunk toward the population’s where its principal-days are few', () => {
    const fitter = new RuleThresholdFitter(config().rules, NAMES);
    for (let day = 0; day < 4; day++) {
      for (let p = 0; p < 4200; p++) {
        const business = p >= 4000;
        const perMinute = business ? 90 + ((p * 7 + day * 13) % 61) : 3 + ((p * 11 + day) % 18);
        const v = NAMES.map((n) => (n === 'req_1m_log' ? log(perMinute) : 0));
        fitter.add(v, `sub:p${p}`, day * DAY, business ? 'bank-business' : 'bank-retail');
      }
    }
    const velocity = fitter.finish().find((f) => f.rule === 'velocity');
    // The population's threshold sits past the payroll runs; the retail app's customers never come near them, so
    // theirs stays at the constant (its own fit, weighted 0.9, pulled up only to the floor).
    expect(velocity?.threshold).toBeGreaterThanOrEqual(150);
    const retail = velocity?.cohorts?.find((c) => c.cohort === 'bank-retail');
    expect(retail).toMatchObject({ threshold: 60 });
    expect(retail?.weight).toBeGreaterThan(0.8);
    expect(velocity?.cohorts?.find((c) => c.cohort === 'bank-business')).toBeUndefined();
    const learned = learnedThresholds(velocity ? [velocity] : []);
    const p = new DecisionPolicy(config(), NAMES);
    const at = (perMinute: number, client_id: string) =>
      p.decide({ ...input({ req_1m_log: log(perMinute) }, { ids: { sub: 'x', client_id } }), learned }).action;
    expect(at(100, 'bank-retail')).toBe('throttle');
    expect(at(100, 'bank-business')).toBe('allow');
    expect(at(100, 'an-unknown-app')).toBe('allow');
  });

  it('keeps the constant when there are too few principal-days to show the target rate', () => {
    const fitter = new RuleThresholdFitter(config().rules, NAMES);
    for (let p = 0; p < 150; p++)
      fitter.add(
        NAMES.map((n) => (n === 'req_1m_log' ? log(200) : 0)),
        `sub:p${p}`,
        0,
      );
    const velocity = fitter.finish().find((f) => f.rule === 'velocity');
    expect(velocity).toMatchObject({ source: 'prior', threshold: 60 });
    expect(velocity?.fitted).toBeUndefined();
    // The summary shows what the constant gives on this traffic: here it fires on every held-out principal-day.
    expect(velocity?.holdout_fpr).toBe(1);
  });

  it('raises a rule to the learned threshold, never below its constant, and says which it compared with', () => {
    const p = new DecisionPolicy(config(), NAMES);
    const burst = input({ req_1m_log: log(120) });
    expect(p.decide(burst)).toMatchObject({ action: 'throttle', rules: ['velocity'] });
    expect(p.decide(burst).reasons[0]).toMatchObject({ feature: 'rule:velocity:req_1m', value: 120, baseline: 60 });
    expect(p.decide({ ...burst, learned: { velocity: 150 } }).action).toBe('allow');
    const flood = p.decide({ ...input({ req_1m_log: log(400) }), learned: { velocity: 150 } });
    expect(flood.reasons[0]).toMatchObject({ value: 400, baseline: 150 });
    // A learned value below the constant changes nothing: the constant is a floor.
    expect(p.decide({ ...input({ req_1m_log: log(50) }), learned: { velocity: 10 } }).action).toBe('allow');
  });
});
