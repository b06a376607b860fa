// `vigil alert --config FILE`: the alerter service. `vigil label --config FILE --verdict V (--request-id R | --alert-id A)`:
// record an analyst's verdict in the labels table (the same store as the alerter's callback).
import { alerterConfigSchema, lintAlerterConfig, openClickHouse, startAlerter, writeLabel } from '@vigil/alerter';
import { runUntilDone } from '@vigil/runtime';
import { configOrExit } from './load-config.js';

const load = (command: string, file: string | undefined) => configOrExit(command, alerterConfigSchema, file, lintAlerterConfig);

export async function alert(options: { config?: string | undefined }): Promise<number> {
  const config = load('alert', options.config);
  if (typeof config === 'number') return config;
  const running = await startAlerter(config);
  return runUntilDone('alerter', running);
}

export async function label(options: {
  config?: string | undefined;
  verdict?: string | undefined;
  requestId?: string | undefined;
  alertId?: string | undefined;
  analyst?: string | undefined;
  note?: string | undefined;
}): Promise<number> {
  const config = load('label', options.config);
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
      process.stderr.write(
        `vigil label: ${(err as { issues: { path: PropertyKey[]; message: string }[] }).issues.map((i) => `${i.path.join('.') || 'label'}: ${i.message}`).join('; ')}\n`,
      );
      return 2;
    }
    throw err;
  } finally {
    await ch.client.close();
  }
}
