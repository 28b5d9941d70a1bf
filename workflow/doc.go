// Package workflow is accessbot's domain: apps, resources, policies, tasks,
// grants, delegations, the audit chain and the engine that moves tasks through
// their policies.
//
// It imports no Slack and no SQL. It declares the Store it needs (store.go);
// the store package implements it, and the bot package drives the Engine and
// delivers the Notices the engine writes to the outbox. Everything an engine
// operation decides is written in one store transaction together with its
// audit events and notices, so a crash loses nothing a person was told. A
// Receipt in the context (envelope.go) names the chat envelope an
// operation comes from; the store marks that envelope done in the same
// transaction, so a replayed envelope is never applied twice.
//
// The audit chains are hash chains (audit.go); the Digester writes signed
// digests of their heads (digest.go), and VerifyAudit checks chains, digests
// and task numbers together (verify.go), so that an insider with database
// access cannot remove or re-hash history unnoticed.
//
// Apps provisioned automatically hand their provision and deprovision steps
// to a Connector (connector.go, the contract package connectors
// implements): the step writes a ConnectorJob in the same transaction, a
// runner calls the connector after the commit, and FinishJob records the
// outcome under the job's lease; a connector that fails for good hands the
// step to the app's provisioners, whose card offers RetryConnector.
package workflow
