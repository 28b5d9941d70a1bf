-- Indexes for the scheduler's sweeps.

-- WarnExpiring: active grants not warned yet, soonest expiry first. Partial,
-- so the grants a sweep has warned leave the index and later pages do not
-- walk them again.
CREATE INDEX grants_unwarned ON grants (status, expires_at) WHERE warned_at IS NULL;
