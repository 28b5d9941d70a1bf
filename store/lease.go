package store

import (
	"context"
	"fmt"
	"time"

	"accessbot/workflow"
)

// Leases. A row that one process instance works on outside any
// transaction (an envelope being handled, a notice being delivered, a card
// being posted, and later a connector job) carries two columns:
//
//	lease_owner TEXT  the instance's owner id ('' when nobody holds it)
//	lease_until TIME  when the lease ends unless it is renewed
//
// An instance renews every lease it holds with RenewLeases (its heartbeat,
// a few times a lease's length), so a slow call never loses its lease
// while the process lives, and a process that is gone loses its leases
// within one lease's length: another instance (or the restarted one, which
// has a new owner id) may take the row once lease_until has passed. Every
// change a holder makes afterwards is guarded in SQL by "lease_owner = me"
// and the held state; zero rows changed means the lease was lost, and the
// store says so (ECONFLICT), never a silent success.
//
// A new leased table adds the two columns, a leaseTable here, and guards
// its state changes with held().

// leaseTable names a table with leases and the condition under which a
// row is held (its "leased" state).
type leaseTable struct {
	name string
	held string // SQL condition true while a lease on the row means something
}

var (
	inboxLeases  = leaseTable{name: "inbox", held: "state = 'leased'"}
	outboxLeases = leaseTable{name: "outbox", held: "state = 'leased'"}
	cardClaims   = leaseTable{name: "cards", held: "ts = ''"}
	digestClaims = leaseTable{name: "digest_cards", held: "ts = ''"}
)

// leaseTables are the tables RenewLeases renews.
var leaseTables = []leaseTable{inboxLeases, outboxLeases, cardClaims, digestClaims}

// free is the condition under which a row may be taken: not held, or held
// under a lease that ended before now. Its one argument is now.
func (l leaseTable) free() string {
	return "(NOT (" + l.held + ") OR lease_until IS NULL OR lease_until < ?)"
}

// mine is the guard of a holder's change: held by owner. Its one argument
// is the owner.
func (l leaseTable) mine() string { return "(" + l.held + ") AND lease_owner = ?" }

// renew moves the end of every lease owner holds in the table to until.
// On PostgreSQL it skips the rows another transaction has locked (they are
// being changed: marked done, delivered, claimed) instead of waiting for
// them, so the heartbeat never deadlocks with them.
func (l leaseTable) renew(c conn, owner string, until time.Time) (int64, error) {
	if c.d == dialectPostgres {
		return c.execN("UPDATE "+l.name+" SET lease_until = ? WHERE id IN (SELECT id FROM "+l.name+
			" WHERE lease_owner = ? AND "+l.held+" FOR UPDATE SKIP LOCKED)", c.t(until), owner)
	}
	return c.execN("UPDATE "+l.name+" SET lease_until = ? WHERE lease_owner = ? AND "+l.held, c.t(until), owner)
}

// lostLease is the error of a guarded change that changed nothing.
func lostLease(what string, id any) error {
	return workflow.Errorf(workflow.ECONFLICT, "%s %v: the lease was lost (another worker took it over); nothing recorded", what, id)
}

// RenewLeases is an instance's heartbeat: it moves the end of every lease
// owner holds (envelopes, notices, card and digest claims) to until, in one write
// transaction, and returns how many it renewed.
func (db *DB) RenewLeases(ctx context.Context, owner string, until time.Time) (int64, error) {
	if owner == "" {
		return 0, fmt.Errorf("store: RenewLeases: an owner id is required")
	}
	var total int64
	err := db.write(ctx, "renew leases", func(c conn) error {
		for _, l := range leaseTables {
			n, err := l.renew(c, owner, until)
			if err != nil {
				return dbErr(err, "renew leases of "+l.name)
			}
			total += n
		}
		return nil
	})
	return total, err
}
