#!/usr/bin/env node
// The `backprop` bin: the CLI's TypeScript source run through tsx (as the repository's scripts are).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
