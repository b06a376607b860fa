// Public surface of @vigil/simulator: seeded demo-bank traffic rendered in any gateway format.

export type { AttackFamily, AttackLabel, AttackOptions } from './attacks.js';
export { ATTACK_FAMILIES, attackWindow, withAttacks } from './attacks.js';
export type { BankOptions, PopulationShape } from './bank.js';
export {
  BANK_REQUESTS_PER_CUSTOMER_DAY,
  bankCustomers,
  bankDurationMs,
  DEFAULT_POPULATION,
  generateBank,
} from './bank.js';
export type { BankApi, BankApiOptions } from './bank-api.js';
export { createBankApi, demoPassword, startBankApi } from './bank-api.js';
export { customerIds } from './customers.js';
export type { DriveOptions, DriveReport } from './drive.js';
export { drive, httpRequestOf } from './drive.js';
export type { FamilyQuality, Quality } from './evaluate.js';
export { decisionPrincipal, evaluateDetection, principalDay, principalDaysUnderAttack } from './evaluate.js';
export type { Locator, Place } from './places.js';
export { type Rng, seeded } from './random.js';
export type { DemoClaims } from './tokens.js';
export { DEMO_SIGNING_KEY, issueToken, verifyDemoToken } from './tokens.js';
export type { SimRequest, TrafficOptions } from './traffic.js';
export { generateTraffic } from './traffic.js';
export type { CredentialMode } from './writers.js';
export { malformedRecords, renderRecord } from './writers.js';
