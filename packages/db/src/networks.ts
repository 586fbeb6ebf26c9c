// Networks: a definition (input width, layers, initialisation), no weights: those belong to models.
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

/** null if missing or another tenant's. */
export async function getNetwork(db: DbOrTx, tenantId: string, id: string): Promise<Network | null> {
  if (!isUuid(id)) return null;
  return db.network.findFirst({ where: { id, tenantId } });
}

/** The tenant's networks, newest first. */
export async function listNetworks(
  db: DbOrTx,
  tenantId: string,
  options: PageOptions = {},
): Promise<Page<Network>> {
  const page = pageQuery(options);
  const rows = await db.network.findMany({
    where: { tenantId, ...page.after },
    orderBy: page.orderBy,
    take: page.take,
  });
  return toPage(rows, page.limit);
}
