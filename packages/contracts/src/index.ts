export * from './common.ts';
export * from './datasets.ts';
export * from './errors.ts';
export * from './jobs.ts';
export * from './models.ts';
export * from './networks.ts';
export * from './queue.ts';
export * from './usage.ts';
