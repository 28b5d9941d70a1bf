// Package workflow is accessbot's domain: apps, resources, policies, tasks,
// grants, delegations, the audit chain and the engine that moves tasks through
// their policies.
//
// It imports no Slack and no SQL. It declares the Store it needs (store.go);
// the store package implements it, and the bot package drives the Engine and
// delivers the Notices the engine writes to the outbox. Everything an engine
// operation decides is written in one store transaction together with its
// audit events and notices, so a crash loses nothing a person was told.
//
// The audit chains are hash chains (audit.go); the Digester writes signed
// digests of their heads (digest.go), and VerifyAudit checks chains, digests
// and task numbers together (verify.go), so that an insider with database
// access cannot remove or re-hash history unnoticed.
package workflow
