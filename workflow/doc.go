// Package workflow is accessbot's domain: apps, resources, policies, tasks,
// grants, delegations, the audit chain and the engine that moves tasks through
// their policies.
//
// It imports no Slack and no SQL. It declares the Store it needs (store.go);
// the store package implements it, and the bot package drives the Engine and
// delivers the Notices the engine writes to the outbox. Every engine
// operation is load -> decide -> persist (engine.go): the decision (the
// methods of op: decide, reassign, cancel, skipStep, finishJob, ...) reads
// and changes the task in memory and records its outcome; persist alone
// writes it (task, revision, grants, jobs, audit events, notices) in one
// store transaction, so a crash loses nothing a person was told. Previews
// run the same decision on a read snapshot, and transition_test.go runs
// them on a table. The card rules (card.go) and the words of statuses and
// steps (text.go) are the engine's too, so blocks and delivery agree. A
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
