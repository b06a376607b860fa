// Slack incoming-webhook text: one line a person reads in a channel.
import type { AlertMessage } from '../../incidents.js';
import { describe, title } from '../words.js';

export function slackText(m: AlertMessage) {
  const i = m.incident;
  const icon = {
    low: ':information_source:',
    medium: ':warning:',
    high: ':rotating_light:',
    critical: ':rotating_light::rotating_light:',
  }[i.severity];
  return {
    text: `${icon} *${i.severity.toUpperCase()}* ${title(m)} — ${describe(m)} (alert ${i.alert_id}, ${m.activity})`,
  };
}
