-- Small fixed vocabularies as ENUM types: one byte per row instead of a string, which makes
-- the per-case table cheap to build and to group by.
CREATE TYPE IF NOT EXISTS kpi_priority AS ENUM ('P1', 'P2', 'P3', 'P4');
CREATE TYPE IF NOT EXISTS kpi_priority_label AS ENUM ('P1', 'P2', 'P3', 'P4', 'UNKNOWN');
CREATE TYPE IF NOT EXISTS kpi_status_family AS ENUM ('open', 'closed', 'other');
CREATE TYPE IF NOT EXISTS kpi_outcome AS ENUM ('met', 'breached', 'pending');
