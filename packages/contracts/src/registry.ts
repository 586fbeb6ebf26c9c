/** Model export, the model registry (names, tags, versions, aliases), receipts and dry runs. */
import { z } from 'zod';

export const EXPORT_FORMATS = ['json', 'js', 'onnx'] as const;
export const ExportFormat = z.enum(EXPORT_FORMATS);
export type ExportFormat = z.infer<typeof ExportFormat>;

export const ExportQuery = z.strictObject({
  format: ExportFormat.describe(
    'json: versioned backprop-model JSON (@backprop/nn readModelExport); js: a dependency-free ES module exporting predict(samples); onnx: an ONNX model (opset 13)',
  ),
});
