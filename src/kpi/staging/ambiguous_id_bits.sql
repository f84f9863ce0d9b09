-- A bit set of the ambiguous ids' hashes in the variable kpi_ambiguous. The re-read tests a
-- case id against it before anything of the row is parsed (see maybeAmbiguous): it lets
-- through the ambiguous ids and a few others (hash collisions), which the next step drops.
SET VARIABLE kpi_ambiguous = (
  SELECT bitstring_agg((hash(case_id) % {{bits}})::BIGINT, 0, {{max_bit}}) FROM ambiguous_ids)
