// `vigil label --config FILE --verdict V (--request-id R | --alert-id A)`: record an analyst's verdict in the labels
// table (the same store as the alerter's callback), from the alerter's config.
import { alerterConfigSchema, lintAlerterConfig, openClickHouse, writeLabel } from '@vigil/alerter';
import { defineCommand } from '../command.js';
import { configOrExit } from '../support/load-config.js';

export async function label(options: {
  config?: string | undefined;
  verdict?: string | undefined;
  requestId?: string | undefined;
  alertId?: string | undefined;
  analyst?: string | undefined;
  note?: string | undefined;
}): Promise<number> {
  const config = configOrExit('label', alerterConfigSchema, options.config, lintAlerterConfig);
  if (typeof config === 'number') return config;
  const ch = openClickHouse(config, () => () => undefined);
  if (!ch) {
    process.stderr.write('vigil label: the config has no clickhouse section — labels are stored in ClickHouse\n');
    return 2;
  }
  try {
    await ch.ready;
    const l = await writeLabel(ch.client, ch.prefix, {
      verdict: options.verdict,
      ...(options.requestId !== undefined ? { request_id: options.requestId } : {}),
      ...(options.alertId !== undefined ? { alert_id: options.alertId } : {}),
      ...(options.analyst !== undefined ? { analyst: options.analyst } : {}),
      ...(options.note !== undefined ? { note: options.note } : {}),
    });
    process.stdout.write(`recorded ${l.verdict} for ${l.request_id ?? l.alert_id}\n`);
    return 0;
  } catch (err) {
    if ((err as { name?: string }).name === 'ZodError') {
      const issues = (err as { issues: { path: PropertyKey[]; message: string }[] }).issues
        .map((i) => `${i.path.join('.') || 'label'}: ${i.message}`)
        .join('; ');
      process.stderr.write(`vigil label: ${issues}\n`);
      return 2;
    }
    throw err;
  } finally {
    await ch.client.close();
  }
}

export const command = defineCommand({
  name: 'label',
  overview: [
    [
      'label --config FILE --verdict true_positive|false_positive ' +
        '(--request-id R | --alert-id A) [--analyst N] [--note T]',
      "Record an analyst's verdict in the labels table",
    ],
  ],
  help:
    'Usage: vigil label --config FILE --verdict true_positive|false_positive ' +
    `(--request-id R | --alert-id A) [--analyst NAME] [--note TEXT]

Records an analyst's verdict on a decision or an alert in the labels table (ClickHouse from the alerter's config),
where training and threshold tuning read it.
`,
  options: {
    config: { type: 'string' },
    verdict: { type: 'string' },
    'request-id': { type: 'string' },
    'alert-id': { type: 'string' },
    analyst: { type: 'string' },
    note: { type: 'string' },
  },
  run: (flags) => label(flags),
});
