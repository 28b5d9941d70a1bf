-- Signed digests of the audit chains' heads (workflow/digest.go): one row a
-- digest, chained by seq. line is the digest exactly as it was written to
-- the operator's sink, so a copy outside the database compares byte for
-- byte; hash is the SHA-256 of its body, through_event the highest
-- audit_events.id it covers (where the next digest starts). Keep in step
-- with ../sqlite/0015_audit_digests.sql.
CREATE TABLE audit_digests (
    seq           BIGINT PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    through_event BIGINT NOT NULL,
    hash          TEXT   NOT NULL,
    line          TEXT   NOT NULL
);
