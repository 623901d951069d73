#!/usr/bin/env node
// `tillstream` command: runs the TypeScript CLI through tsx so a clone works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
