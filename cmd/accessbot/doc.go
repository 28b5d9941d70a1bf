// Command accessbot wires configuration, logging, the store, the engine, the
// Slack bot, the scheduler, the connector job runner and the HTTP endpoints
// together. Main is what the
// binary runs and what the whole-binary tests boot.
package main
