#!/usr/bin/env node
// The `vigil` executable. npm links a workspace's bin only if its file exists at install time, and dist/ is built
// after `npm ci`, so the linked file is this committed one, which loads the built CLI (and says how to build it).
//
// vigil is built and tested on Node 24 (an LTS; Node 20 reached end of life on 2026-04-30). `npm ci` installs that
// Node into node_modules (the `node` devDependency), and npm scripts and `npx vigil` put it first on the PATH; a
// `vigil` started by hand with an older Node on the PATH is refused here with the way out, not left to fail later.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `vigil: needs Node 24 or later, and this is Node ${process.versions.node}: run it as \`npx vigil\` (npm's ` +
      'scripts and npx use the Node that `npm ci` installed in node_modules), or put Node 24 first on the PATH\n',
  );
  process.exit(2);
}
try {
  await import('../dist/bin.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bin.js')) {
    process.stderr.write('vigil: not built yet: run `npm run build` in the repository first\n');
    process.exit(2);
  }
  throw err;
}
