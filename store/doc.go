// Package store keeps accessbot's data in SQLite (the default: one file,
// one process) or PostgreSQL (several replicas). *DB implements
// workflow.Store, plus the tables the Slack bot needs beside the engine's:
// the outbox worker's calls, the inbox of stored envelopes, chat users and
// cards.
//
// # Leases and lifecycles
//
// Rows a process works on outside a transaction carry a lease (lease.go:
// lease_owner, lease_until), renewed by the owner's heartbeat
// (RenewLeases) and taken over by another owner once it has ended. Every
// change a holder makes afterwards is guarded by the lease in SQL; zero
// rows is ECONFLICT, never a silent success. The outbox's states are
// workflow.NoticeState (pending, leased, delivered, dead); the inbox's are
// leased, pending and done (inbox.go); a card is claimed, as a row with no
// message, before it is posted (ClaimCard), and so is a reminder digest
// (ClaimDigestCard, digestcard.go). A notice's payload is typed JSON beside
// the flat form older binaries read (notice_codec.go). PostgreSQL claims notices and
// envelopes with FOR UPDATE SKIP LOCKED, so replicas do not wait on each
// other. Update marks the envelope of a workflow.Receipt in the context
// done in the same transaction as the effect.
//
// Connector jobs (jobs.go) are written in engine transactions (EnqueueJob,
// and SaveJob guarded by the claim: lease owner and attempt) and claimed
// outside them (ClaimJobs, FOR UPDATE SKIP LOCKED on PostgreSQL).
//
// Open picks the dialect from the DSN and applies the embedded migrations
// (migrations/sqlite and migrations/postgres, the same version numbers in
// both), each in one transaction recorded in schema_migrations.
// OpenReadOnly, for audit verify and export, opens an existing database
// without migrating or writing (SQLite mode=ro; PostgreSQL sessions in
// read-only transactions) and refuses a SQLite path that does not exist.
//
// # Transactions
//
// Update runs one write transaction, serialised with every other write:
//
//   - SQLite: a pool of exactly one writer connection whose transactions
//     BEGIN IMMEDIATE (_txlock=immediate), so a transaction that reads then
//     writes never fails with "database is locked"; writers queue at a
//     gate (gate.go) where the inbox's group commits, which acks wait on,
//     go first. View reads on a separate pool of query-only connections. Every
//     connection is opened with WAL, foreign keys, a 10 s busy timeout and
//     synchronous=FULL, all in its DSN.
//   - PostgreSQL: READ COMMITTED plus a transaction-scoped advisory lock
//     (per schema) taken before fn runs, so replicas queue as SQLite's
//     writers do. View is REPEATABLE READ, READ ONLY.
//
// Guards back this up: SaveTask updates WHERE id = ? AND version = ? (zero
// rows: ECONFLICT), task numbers come from an atomically bumped counter row,
// and audit events are UNIQUE (task_id, seq), so a forked chain cannot be
// stored. Unique violations, serialisation failures and deadlocks map to
// workflow's ECONFLICT; lookups of one missing row to ENOTFOUND. The Tx
// methods detect expected conflicts without a failing statement (ON
// CONFLICT DO NOTHING, checks first), because a failed statement aborts a
// PostgreSQL transaction: after an ECONFLICT or ENOTFOUND from a Tx method,
// the transaction can go on on both dialects.
//
// # Time
//
// Nothing here reads the wall clock for data: Tx.Now is the injected
// clock's time, read once per transaction, in UTC and truncated to the
// microsecond, PostgreSQL's precision. Every time is stored to the
// microsecond (TIMESTAMPTZ; in SQLite TEXT of fixed width such as
// 2006-01-02T15:04:05.000000Z, so text order is time order) and read back
// in UTC, so a time written and read is == equal and an audit event's hash
// verifies after a round trip. The zero time is stored as NULL.
//
// Emails are compared exactly as given: callers normalise them.
package store
