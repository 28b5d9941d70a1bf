// Package connectors grants and removes access in the systems accessbot
// governs, behind the workflow.Connector contract the engine owns:
//
//   - Exec runs a configured program (argv, no shell) with the request as
//     JSON on stdin: exit 0 is done, 75 (EX_TEMPFAIL) retry later, anything
//     else failed; a timeout kills its whole process group.
//   - Webhook POSTs the same JSON over HTTPS, signed the Standard Webhooks
//     way; 2xx is done, 408/429/5xx and timeouts retry (Retry-After is
//     honoured), other 4xx failed; a redirect to another host is not followed.
//   - GitHub adds people to and removes them from organization teams with
//     google/go-github; "already a member" and "not a member" are success.
//
// Runner runs the durable connector jobs the engine writes: it claims due
// jobs with a lease (so a crash or a second replica retries them and two
// runners never run one job at once), calls the connector outside any
// database transaction, and hands the outcome to the engine under that
// lease.
package connectors
