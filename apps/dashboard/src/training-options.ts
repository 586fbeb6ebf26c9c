/**
 * The job form's fields, read off the contracts' Training schema (the one the API validates
 * with and its OpenAPI document shows): every option, its description, default and bounds, so
 * the form can never offer less than the API takes or explain a default the API does not apply.
 */
import { Training } from '@backprop/contracts';
import { z } from 'zod';

export interface OptionField {
  name: string;
  kind: 'number' | 'integer' | 'choice' | 'patience' | 'json';
  description: string;
  required: boolean;
  default?: string;
  choices?: string[];
  min?: number;
  max?: number;
}

const Property = z.object({
  type: z.string().optional(),
  description: z.string().optional(),
  default: z.union([z.string(), z.number()]).optional(),
  enum: z.array(z.string()).optional(),
  minimum: z.number().optional(),
  exclusiveMinimum: z.number().optional(),
  maximum: z.number().optional(),
  exclusiveMaximum: z.number().optional(),
});
const ObjectSchema = z.object({
  properties: z.record(z.string(), z.unknown()),
  required: z.array(z.string()).optional(),
});

export function optionFields(): OptionField[] {
  const schema = ObjectSchema.parse(z.toJSONSchema(Training, { io: 'input', unrepresentable: 'any' }));
  return Object.entries(schema.properties).map(([name, raw]): OptionField => {
    const p = Property.parse(raw);
    const base = {
      name,
      description: p.description ?? '',
      required: schema.required?.includes(name) ?? false,
      ...(p.default === undefined ? {} : { default: String(p.default) }),
    };
    if (p.enum) return { ...base, kind: 'choice', choices: p.enum };
    if (name === 'earlyStopping') return { ...base, kind: 'patience', min: 1 };
    if (p.type === 'number' || p.type === 'integer') {
      const min = p.minimum ?? p.exclusiveMinimum;
      const max = p.maximum ?? p.exclusiveMaximum;
      return {
        ...base,
        kind: p.type,
        ...(min === undefined ? {} : { min }),
        ...(max === undefined || max > 1e15 ? {} : { max }),
      };
    }
    return { ...base, kind: 'json' };
  });
}

/** The training body from the form's text values: empty fields are left to the API's defaults. */
export function trainingBody(values: Record<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const field of optionFields()) {
    const text = values[field.name]?.trim() ?? '';
    if (text === '') continue;
    if (field.kind === 'choice') body[field.name] = text;
    else if (field.kind === 'patience') body[field.name] = { patience: Number(text) };
    else if (field.kind === 'json') body[field.name] = parseJson(text);
    else body[field.name] = Number(text);
  }
  return body;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // the schema check then names the field
  }
}
