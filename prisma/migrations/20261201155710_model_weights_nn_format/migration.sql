-- Models store @backprop/nn's binary network format (serializeBinary, "BPNN") instead of a bare
-- little-endian Float64Array, so checkpoints and models share nn's one versioned format.
-- The float data of both is the same (W1, b1, ..., WL, bL, row-major, little-endian float64), so
-- an existing row becomes the new format by prepending nn's header and layer table, built from
-- the row's own inputSize and layers (layout: packages/nn/src/serialize.ts):
--   "BPNN", u16 version 1, u8 dtype 1 (float64), u8 0, u32 inputSize, u32 L,
--   then per layer: u32 units, u8 activation code, 3 bytes 0, f64 slope (leaky_relu; else 0),
-- all little-endian. int4send and float8send write big-endian, hence "bp_little_endian".
CREATE FUNCTION "bp_little_endian"(big_endian bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT string_agg(substring(big_endian FROM i FOR 1), ''::bytea ORDER BY i DESC)
  FROM generate_series(1, length(big_endian)) AS i
$$;

UPDATE "Model" AS m SET "parameters" =
  decode('42504e4e' || '0100' || '0100', 'hex')
  || "bp_little_endian"(int4send(m."inputSize"))
  || "bp_little_endian"(int4send(jsonb_array_length(m."layers")))
  || (SELECT string_agg(
            "bp_little_endian"(int4send((layer ->> 'units')::integer))
            || set_byte(decode('00000000', 'hex'), 0, CASE layer ->> 'activation'
                 WHEN 'sigmoid' THEN 1 WHEN 'tanh' THEN 2 WHEN 'relu' THEN 3
                 WHEN 'leaky_relu' THEN 4 WHEN 'softmax' THEN 5 WHEN 'linear' THEN 6 END)
            || "bp_little_endian"(float8send(CASE WHEN layer ->> 'activation' = 'leaky_relu'
                 THEN COALESCE((layer ->> 'slope')::double precision, 0.01) ELSE 0 END)),
            ''::bytea ORDER BY position)
      FROM jsonb_array_elements(m."layers") WITH ORDINALITY AS t(layer, position))
  || m."parameters";

DROP FUNCTION "bp_little_endian"(bytea);
