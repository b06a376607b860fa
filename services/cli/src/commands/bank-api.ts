// `vigil bank-api`: the simulator's demo bank API, for a gateway to front (the compose stack, the end-to-end test,
// trying a gateway set-up by hand). Stops on SIGTERM / SIGINT.
import { startBankApi } from '@vigil/simulator';
import { defineCommand } from '../command.js';

export async function bankApi(args: { port?: string; host?: string; customers?: string }): Promise<number> {
  const port = Number(args.port ?? '8081');
  const customers = Number(args.customers ?? '5000');
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isInteger(customers) || customers < 1) {
    process.stderr.write(
      'usage: vigil bank-api [--port N (default 8081)] [--host H (default 127.0.0.1)] [--customers N (default 5000)]\n',
    );
    return 2;
  }
  const api = await startBankApi({ port, host: args.host ?? '127.0.0.1', customers });
  process.stderr.write(
    `vigil bank-api: the demo bank (${customers} customers) listening on ${args.host ?? '127.0.0.1'}:${api.port}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await api.close();
  return 0;
}

export const command = defineCommand({
  name: 'bank-api',
  overview: [
    [
      'bank-api [--port N] [--host H] [--customers N]',
      'Run the demo bank API (for a gateway to front: the compose stack, trying a gateway set-up)',
    ],
  ],
  help: `Usage: vigil bank-api [--port N] [--host H] [--customers N]

Runs the demo bank API the simulator's customers use (default 127.0.0.1:8081, 5,000 customers): POST /oauth/token
(password and refresh_token grants), GET /v1/accounts, /v1/accounts/ID, /v1/accounts/ID/transactions?page=N,
/v1/payees, POST /v1/payments. Tokens are the demo IdP's HS256 JWTs, checked on every call; another customer's
account answers 403 (what BOLA probing looks like), an unknown one 404. A demo, not a bank: the signing key and the
passwords follow from public constants.
`,
  options: { port: { type: 'string' }, host: { type: 'string' }, customers: { type: 'string' } },
  run: (flags) => bankApi(flags),
});
