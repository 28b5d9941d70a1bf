-- Typed notice payloads (workflow.Payload): payload_json holds
-- {"kind": ..., "payload": {...}} and is what a binary from this migration
-- on reads. kind and data_json keep the encoding of the binaries before
-- it (a flat map of strings; a digest is kind 'reminder' with task id 0),
-- written alongside so that an older replica still delivers a newer one's
-- notices during a rolling upgrade; a row without payload_json is an
-- older binary's and is read from them (store/notice_codec.go). Keep in
-- step with ../postgres/0022_notice_payloads.sql.
ALTER TABLE outbox ADD COLUMN payload_json TEXT;
ALTER TABLE email_outbox ADD COLUMN payload_json TEXT;
