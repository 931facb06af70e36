// yargs's CommonJS build, loaded through a CommonJS module so that both tsx and the device bundle
// (esbuild resolves a literal require() with the "require" condition) get it. Its ESM build
// formats help with a fallback of cliui's that cuts lines at the column, mid-word ("trains
// nothing\n)"); the CommonJS one wraps at word boundaries.
import yargs = require('yargs');
export = yargs;
