// Event-time parsing for the timestamp shapes gateways write: epoch seconds, ms, µs or ns as numbers or strings,
// ISO 8601, nginx/Apache common log format ("25/Feb/2021:16:20:01 -0500") and HAProxy's accept date
// ("06/Feb/2009:12:14:14.655"). Never reads the wall clock.

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};
const CLF = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(?:\s*([+-])(\d{2}):?(\d{2}))?$/;
const NUMERIC = /^\s*\d+(\.\d+)?\s*$/;

/** Epoch ms from a number whose unit is guessed by magnitude (s, ms, µs, ns). */
export function epochMsFromNumber(n: number): number | undefined {
  if (!Number.isFinite(n) || n <= 0) return undefined;
  if (n < 1e11) return Math.round(n * 1000); // seconds (until the year 5138)
  if (n < 1e14) return Math.round(n); // milliseconds
  if (n < 1e17) return Math.round(n / 1000); // microseconds
  return Math.round(n / 1e6); // nanoseconds
}

export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number') return epochMsFromNumber(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '' || text === '-') return undefined;
  if (NUMERIC.test(text)) return epochMsFromNumber(Number(text));
  const clf = CLF.exec(text);
  if (clf) {
    const [, dd, mon, yyyy, hh, mi, ss, frac, sign, oh, om] = clf;
    const month = MONTHS[mon ?? ''];
    if (month === undefined) return undefined;
    const ms = frac ? Math.round(Number(frac) * 1000) : 0;
    const utc = Date.UTC(Number(yyyy), month, Number(dd), Number(hh), Number(mi), Number(ss), ms);
    const offsetMin = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) : 0;
    return utc - offsetMin * 60_000;
  }
  // ISO 8601 needs a date and a time; Date.parse alone accepts too much ("1", "Jan").
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text)) return undefined;
  // Without a zone, a timestamp is UTC: local time would make the result depend on the machine.
  const iso = text.replace(' ', 'T');
  const parsed = Date.parse(/(?:[zZ]|[+-]\d{2}:?\d{2})$/.test(iso) ? iso : `${iso}Z`);
  return Number.isNaN(parsed) ? undefined : parsed;
}
