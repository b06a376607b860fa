// Public surface of @vigil/simulator: seeded demo-bank traffic rendered in any gateway format.

export type { AttackFamily, AttackLabel, AttackOptions } from './attacks.js';
export { ATTACK_FAMILIES, attackWindow, withAttacks } from './attacks.js';
export type { BankOptions } from './bank.js';
export { BANK_REQUESTS_PER_CUSTOMER_DAY, bankCustomers, bankDurationMs, generateBank } from './bank.js';
export { customerIds } from './customers.js';
export type { FamilyQuality, Quality } from './evaluate.js';
export { evaluateDetection } from './evaluate.js';
export type { Locator, Place } from './places.js';
export { type Rng, seeded } from './random.js';
export type { DemoClaims } from './tokens.js';
export { issueToken } from './tokens.js';
export type { SimRequest, TrafficOptions } from './traffic.js';
export { generateTraffic } from './traffic.js';
export type { CredentialMode } from './writers.js';
export { malformedRecords, renderRecord } from './writers.js';
