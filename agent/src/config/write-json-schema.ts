import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchema, configReference } from './config-docs.js';

/**
 * `npm run gen:config` regenerates probe-config/tapflow.schema.json and probe-config/README.md from
 * the zod schema; a test fails when the committed files are stale, so they never drift.
 */
const dir = new URL('../../../../probe-config/', import.meta.url);
writeFileSync(fileURLToPath(new URL('tapflow.schema.json', dir)), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
writeFileSync(fileURLToPath(new URL('README.md', dir)), configReference());
