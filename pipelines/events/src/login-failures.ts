// Login failures the failure-count features leave out: one mistyped password, then a success, is the most common login
// there is. The feature families (@vigil/features auth.ts, ip.ts) subtract it from their counts; the policy's rules
// add it back to compare real counts with their thresholds. Here because both sides must agree on it.
export const FORGIVEN_LOGIN_FAILURES = 1;

/** A failure count as the features record it (the forgiven failure left out). */
export const recordedFailures = (failures: number) => Math.max(0, failures - FORGIVEN_LOGIN_FAILURES);
