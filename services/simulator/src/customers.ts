// The demo bank's numbering, shared by every generator, the attacks and the demo bank API: customer i is subject
// cust-<100000 + i in base 36>, username user<i>@example.com, holds current account 40000000 + 7i and may hold
// savings account 60000000 + 7i. The inverses tell the API whose a subject, username or account is.
const SUB_BASE = 100_000;
const CURRENT = 40_000_000;
const SAVINGS = 60_000_000;

export function customerIds(i: number): { sub: string; username: string; account: string; savings: string } {
  return {
    sub: `cust-${(SUB_BASE + i).toString(36)}`,
    username: `user${i}@example.com`,
    account: String(CURRENT + i * 7),
    savings: String(SAVINGS + i * 7),
  };
}

const inRange = (i: number, customers: number) => (Number.isInteger(i) && i >= 0 && i < customers ? i : undefined);

/** The customer a subject names, among `customers`. */
export function customerOfSub(sub: string, customers: number): number | undefined {
  const m = /^cust-([0-9a-z]+)$/.exec(sub);
  return inRange(m ? Number.parseInt(m[1] as string, 36) - SUB_BASE : Number.NaN, customers);
}

/** The customer a username names, among `customers`. */
export function customerOfUsername(username: string, customers: number): number | undefined {
  const m = /^user(\d{1,9})@example\.com$/.exec(username);
  return inRange(m ? Number(m[1]) : Number.NaN, customers);
}

/** The customer owning an account number (current or savings), among `customers`. */
export function accountOwner(account: string, customers: number): number | undefined {
  if (!/^\d{8}$/.test(account)) return undefined;
  const n = Number(account);
  return inRange((n - (n >= SAVINGS ? SAVINGS : CURRENT)) / 7, customers);
}
