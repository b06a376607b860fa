// Every vigil command, in the order `vigil --help` lists them. A command is one module in this folder (its flags, help
// and code: see ../command.ts); adding one is that module and one line here.
import type { Command } from '../command.js';
import { command as alert } from './alert.js';
import { command as bankApi } from './bank-api.js';
import { command as config } from './config.js';
import { command as demo } from './demo.js';
import { command as detect } from './detect.js';
import { command as docs } from './docs.js';
import { command as doctor } from './doctor.js';
import { command as explain } from './explain.js';
import { command as features } from './features.js';
import { command as label } from './label.js';
import { command as parse } from './parse.js';
import { command as replay } from './replay.js';
import { command as revoke } from './revoke.js';
import { command as simulate } from './simulate.js';
import { command as train } from './train.js';

// Each command keeps its own option types; the list only needs the common contract.
export const COMMANDS: readonly Command[] = [
  demo,
  detect,
  alert,
  label,
  revoke,
  parse,
  features,
  train,
  replay,
  explain,
  simulate,
  bankApi,
  config,
  docs,
  doctor,
] as unknown as Command[];
