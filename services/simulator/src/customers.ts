// The demo bank's numbering, shared by every generator and the attacks: customer i is subject cust-<100000 + i in
// base 36>, username user<i>@example.com, and holds current account 40000000 + 7i.
export function customerIds(i: number): { sub: string; username: string; account: string } {
  return { sub: `cust-${(100000 + i).toString(36)}`, username: `user${i}@example.com`, account: String(40000000 + i * 7) };
}
