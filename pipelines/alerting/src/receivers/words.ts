// The words every human-read receiver shares: an incident's title and a one-line description of its evidence.
import type { AlertMessage } from '../incidents.js';

export function title(m: AlertMessage): string {
  const i = m.incident;
  return `vigil: ${i.action} ${i.entity} ${i.entity_key}${i.dry_run ? ' (dry run)' : ''}`;
}

export function describe(m: AlertMessage): string {
  const i = m.incident;
  const top = i.evidence
    .slice(0, 3)
    .map((e) => `${e.feature}=${round(e.value)} (baseline ${round(e.baseline)})`)
    .join(', ');
  return (
    `${i.events} suspicious request(s) from ${new Date(i.first_seen).toISOString()} to ` +
    `${new Date(i.last_seen).toISOString()}; max score ${i.max_score.toFixed(4)}; ${top || 'no reasons'}`
  );
}

const round = (x: number) => (Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 100) / 100);
