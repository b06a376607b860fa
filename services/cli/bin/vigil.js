#!/usr/bin/env node
// The `vigil` executable. npm links a workspace's bin only if its file exists at install time, and dist/ is built
// after `npm ci`, so the linked file is this committed one, which loads the built CLI (and says how to build it).
try {
  await import('../dist/bin.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bin.js')) {
    process.stderr.write('vigil: not built yet: run `npm run build` in the repository first\n');
    process.exit(2);
  }
  throw err;
}
