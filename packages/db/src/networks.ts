// Networks: a definition (input width, layers, initialisation), no weights: those belong to models.
import type { Db } from './client.ts';
import type { Network } from './generated/prisma/client.ts';
import { assertCount, assertFiniteJson, type DbOrTx } from './internal.ts';
import { findPage, type Page, type PageOptions } from './page.ts';
import { type SoftDeleteResult, softDelete } from './soft-delete.ts';
import { tenantLookup } from './tenant-lookup.ts';

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
export const getNetwork = tenantLookup<Network>((db, key) => db.network.findFirst({ where: key }));

/** The tenant's networks, newest first; deleted ones are left out. */
export async function listNetworks(
  db: DbOrTx,
  tenantId: string,
  options: PageOptions = {},
): Promise<Page<Network>> {
  return findPage(options, { tenantId, deletedAt: null }, (page) => db.network.findMany(page));
}

/** What deleteNetwork did: gone, kept with deletedAt (finished jobs refer to it), or why not. */
export type DeleteNetworkResult = SoftDeleteResult;

/**
 * Deletes a network unless a queued or running job uses it: the row goes if no job refers to it,
 * otherwise it stays (marked deletedAt) so that finished jobs stay explainable (softDelete).
 */
export async function deleteNetwork(db: Db, tenantId: string, id: string): Promise<DeleteNetworkResult> {
  return softDelete(db, 'Network', tenantId, id, async (tx) => {
    const [marked] = await tx.$queryRaw<{ deletedAt: Date }[]>`
      UPDATE "Network" SET "deletedAt" = now() WHERE "id" = ${id}::uuid RETURNING "deletedAt"`;
    return marked!.deletedAt;
  });
}
