// Package config reads accessbot's YAML configuration into a
// *workflow.Catalog.
//
// The file's top-level sections are admins, people, groups, policies, apps,
// reminders and threads. examples/config.yaml is the commented reference; every field
// it does not show is an error.
//
// Load and Parse are strict and report everything at once: the file is
// decoded with unknown fields rejected, then validated as a whole, and any
// problem gives a *ValidationError whose Problems each name the exact path of
// the value (`apps[2].resources[0].request_policy`, `groups.sre[1]`,
// `policies.std.steps[0].mode`) with a message that says how to fix it, and
// the line where the file has it. Nothing is built from a file with problems.
//
// What the catalog gets, beyond the file's values:
//
//   - emails are lower-cased everywhere, and principals are written in one
//     form: "user:EMAIL", "group:NAME", "manager", "app_owners",
//     "resource_owners";
//   - a person's groups and a group's members agree: people[].groups and the
//     groups section are merged, both sorted;
//   - an app's provisioning defaults to manual and its deprovisioners to its
//     provisioners (on the App itself); a resource that names provisioners but
//     no deprovisioners gets its provisioners as deprovisioners unless the app
//     names its own deprovisioners; other resource settings stay empty and
//     are inherited through workflow.Catalog.Entitlement;
//   - an app's or resource's name defaults to its id;
//   - review steps default to mode any; every step to delegation allowed and
//     reassignment to anyone;
//   - reminders default field by field to after 4h, every 24h, no escalation,
//     business hours 09:00-18:00 and an expiry warning 1h before the end.
//
// Policy steps are flat mappings with a type:
//
//	policies:
//	  standard:
//	    steps:
//	      - type: review
//	        approvers: [manager, group:security]
//	        mode: all
//	        delegation: blocked
//	        reassign: [group:sre]
//	        fallback: [app_owners]
//	      - type: provision
package config
