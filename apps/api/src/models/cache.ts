/**
 * Trained networks ready for prediction, kept in memory. Models never change once written, so a
 * cached network is current as long as its row exists; the cache saves the read and the decode of
 * the network bytes, and a hit still checks (one indexed read, no parameters) that the model was not
 * deleted, by this process or another. Entries remember their tenant, and a lookup by another
 * tenant misses exactly like a missing model.
 */
import { type ClassLabel, Normalization, Task } from '@backprop/contracts';
import { type Db, getModel, getModelWithParameters } from '@backprop/db';
import { deserialize, type Network } from '@backprop/nn';
import { storedClasses } from '../stored.ts';

export interface LoadedModel {
  tenantId: string;
  network: Network;
  task: Task;
  classes: ClassLabel[] | null;
  normalization: Normalization;
}

export class ModelCache {
  private readonly entries = new Map<string, LoadedModel>();

  constructor(
    private readonly db: Db,
    private readonly capacity: number,
  ) {}

  async get(tenantId: string, id: string): Promise<LoadedModel | null> {
    const hit = this.entries.get(id);
    if (hit) {
      if (hit.tenantId !== tenantId) return null;
      this.entries.delete(id);
      if ((await getModel(this.db, tenantId, id)) === null) return null;
      this.entries.set(id, hit);
      return hit;
    }
    const row = await getModelWithParameters(this.db, tenantId, id);
    if (!row) return null;
    const loaded: LoadedModel = {
      tenantId,
      // The column holds nn's own network bytes: shape, activations and weights in one decode.
      network: deserialize(row.parameters),
      task: Task.parse(row.task),
      classes: storedClasses(row.classes) ?? null,
      normalization: Normalization.parse(row.normalization),
    };
    this.entries.set(id, loaded);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return loaded;
  }

  /** Forgets a deleted model. */
  evict(id: string): void {
    this.entries.delete(id);
  }
}
