/** The JSON export: @backprop/nn's versioned `backprop-model` document (readModelExport reads it). */
import { writeModelExport } from '@backprop/nn';
import { describeModel, type ExportSource } from './source.ts';

export function exportJson(source: ExportSource): string {
  return writeModelExport(describeModel(source));
}
