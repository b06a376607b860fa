// `vigil alert --config FILE`: the alerter service.
import { alerterConfigSchema, lintAlerterConfig, startAlerter } from '@vigil/alerter';
import { runUntilDone } from '@vigil/runtime';
import { defineCommand } from '../command.js';
import { configOrExit } from '../support/load-config.js';

export async function alert(options: { config?: string | undefined }): Promise<number> {
  const config = configOrExit('alert', alerterConfigSchema, options.config, lintAlerterConfig);
  if (typeof config === 'number') return config;
  const running = await startAlerter(config);
  return runUntilDone('alerter', running);
}

export const command = defineCommand({
  name: 'alert',
  overview: [
    [
      'alert --config FILE',
      'Run the alerter service (vigil.decisions in; signed SOC webhooks, CAEP events, label callback)',
    ],
  ],
  help: `Usage: vigil alert --config FILE

Runs the alerter: consumes decision records and tells the SOC — one alert per entity per incident window (opened at
once, updated when the severity rises, summarised at close), as OCSF Detection Finding 2004, generic JSON or Slack
text per receiver, signed per Standard Webhooks (secrets from the environment), retried with backoff and jitter on
5xx, 429 and timeouts, dead-lettered to vigil.alerts.dlq otherwise. On every revocation of a subject or session it
pushes a CAEP session-revoked Security Event Token to the configured receivers. POST /v1/labels (bearer token) records
analysts' verdicts. See config/alerter.example.yaml.
`,
  options: { config: { type: 'string' } },
  run: (flags) => alert(flags),
});
