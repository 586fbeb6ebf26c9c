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

export interface LayerSpec {
  units: number;
  activation: string;
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
      layers: input.layers.map(({ units, activation }) => ({ units, activation })),
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
