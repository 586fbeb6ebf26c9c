/**
 * The life of a fault-test file's private servers: started before its tests, and after them every
 * space made on them closed (its processes ended) before the servers themselves go, so no process
 * outlives the servers it was pointed at.
 */
import { afterAll, beforeAll } from 'vitest';
import {
  type PrivatePostgres,
  PrivateRedis,
  type PrivateRedisOptions,
} from '../../../../harness/services.ts';
import { Space, startServers } from '../../../../harness/stack.ts';

export interface FileServers {
  readonly pg: PrivatePostgres;
  readonly redis: PrivateRedis;
  /** A new space on these servers (or on `onRedis`), closed after the file's tests. */
  space(onRedis?: PrivateRedis): Promise<Space>;
  /** Another private Redis, destroyed after the file's tests. */
  extraRedis(options: PrivateRedisOptions): Promise<PrivateRedis>;
}

export function usePrivateServers(): FileServers {
  let started: { pg: PrivatePostgres; redis: PrivateRedis } | undefined;
  const spaces: Space[] = [];
  const extra: PrivateRedis[] = [];
  const servers = () => {
    if (!started) throw new Error('the private servers start in beforeAll');
    return started;
  };

  beforeAll(async () => {
    started = await startServers();
  });

  afterAll(async () => {
    await Promise.allSettled(spaces.map((s) => s.close()));
    await Promise.allSettled([
      started?.pg.destroy(),
      started?.redis.destroy(),
      ...extra.map((r) => r.destroy()),
    ]);
  });

  return {
    get pg() {
      return servers().pg;
    },
    get redis() {
      return servers().redis;
    },
    async space(onRedis = servers().redis) {
      const space = await Space.create(servers().pg, onRedis);
      spaces.push(space);
      return space;
    },
    async extraRedis(options) {
      const redis = await PrivateRedis.start(options);
      extra.push(redis);
      return redis;
    },
  };
}

/** One space for the whole file, on its own private servers. */
export function usePrivateSpace(): { readonly space: Space } {
  const servers = usePrivateServers();
  let space: Space | undefined;
  beforeAll(async () => {
    space = await servers.space();
  });
  return {
    get space() {
      if (!space) throw new Error('the space is created in beforeAll');
      return space;
    },
  };
}
