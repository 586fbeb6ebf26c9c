// Networks: a definition (input width, layers, initialisation), no weights: those belong to models.
import type { Db } from './client.ts';
import type { Network } from './generated/prisma/client.ts';
import {
  assertCount,
  assertFiniteJson,
  type DbOrTx,
  isUuid,
  type Page,
  type PageOptions,
  pageQuery,
  toPage,
} from './internal.ts';

// A type alias, not an interface, so that it is assignable to Prisma's Json input type.
export type LayerSpec = {
  units: number;
  activation: string;
  /** leaky_relu's slope for z < 0, when not the default */
  slope?: number;
};

/** A layer as stored: only the known keys, and slope only when given. */
export function storedLayer({ units, activation, slope }: LayerSpec): LayerSpec {
  return slope === undefined ? { units, activation } : { units, activation, slope };
}

export interface CreateNetworkInput {
  tenantId: string;
  name: string;
  inputSize: number;
  /** hidden layers and the output layer, in order */
  layers: LayerSpec[];
  init: string;
  parameterCount: number;
}

export async function createNetwork(db: DbOrTx, input: CreateNetworkInput): Promise<Network> {
  assertCount(input.inputSize, 'inputSize', { min: 1 });
  assertCount(input.parameterCount, 'parameterCount', { min: 1 });
  assertFiniteJson(input.layers, 'layers');
  return db.network.create({
    data: {
      tenantId: input.tenantId,
      name: input.name,
      inputSize: input.inputSize,
      layers: input.layers.map(storedLayer),
      init: input.init,
      parameterCount: input.parameterCount,
    },
  });
}

/** null if missing or another tenant's; a deleted network that jobs refer to has deletedAt set. */
export async function getNetwork(db: DbOrTx, tenantId: string, id: string): Promise<Network | null> {
  if (!isUuid(id)) return null;
  return db.network.findFirst({ where: { id, tenantId } });
}

/** The tenant's networks, newest first; deleted ones are left out. */
export async function listNetworks(
  db: DbOrTx,
  tenantId: string,
  options: PageOptions = {},
): Promise<Page<Network>> {
  const page = pageQuery(options);
  const rows = await db.network.findMany({
    where: { tenantId, deletedAt: null, ...page.after },
    orderBy: page.orderBy,
    take: page.take,
  });
  return toPage(rows, page.limit);
}

export type DeleteNetworkResult =
  /** no job referred to it: the row is gone */
  | { deleted: true; kept: false }
  /** finished jobs refer to it: the row stays with deletedAt, and no new job may use it */
  | { deleted: true; kept: true; deletedAt: Date }
  | { deleted: false; reason: 'not_found' }
  /** a queued or running job trains it */
  | { deleted: false; reason: 'in_use' };

/**
 * Deletes a network unless a queued or running job uses it: the row goes if no job refers to it,
 * otherwise it stays (marked deletedAt) so that finished jobs stay explainable. The row is locked
 * first, as deleteDataset does, so a concurrent job creation is either seen (in_use) or refused.
 */
export async function deleteNetwork(db: Db, tenantId: string, id: string): Promise<DeleteNetworkResult> {
  if (!isUuid(id)) return { deleted: false, reason: 'not_found' };
  return db.$transaction(async (tx) => {
    const locked = await tx.$queryRaw<{ deletedAt: Date | null }[]>`
      SELECT "deletedAt" FROM "Network" WHERE "id" = ${id}::uuid AND "tenantId" = ${tenantId}::uuid FOR UPDATE`;
    const row = locked[0];
    if (row === undefined) return { deleted: false, reason: 'not_found' } as const;
    if (row.deletedAt !== null) return { deleted: true, kept: true, deletedAt: row.deletedAt } as const;
    const jobs = await tx.trainingJob.groupBy({
      by: ['status'],
      where: { networkId: id, tenantId },
      _count: true,
    });
    if (jobs.some((group) => group.status === 'queued' || group.status === 'running')) {
      return { deleted: false, reason: 'in_use' } as const;
    }
    if (jobs.length === 0) {
      await tx.$executeRaw`DELETE FROM "Network" WHERE "id" = ${id}::uuid`;
      return { deleted: true, kept: false } as const;
    }
    const [marked] = await tx.$queryRaw<{ deletedAt: Date }[]>`
      UPDATE "Network" SET "deletedAt" = now() WHERE "id" = ${id}::uuid RETURNING "deletedAt"`;
    return { deleted: true, kept: true, deletedAt: marked!.deletedAt } as const;
  });
}
