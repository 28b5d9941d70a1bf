package workflow

import (
	"context"
	"time"
)

// GrantStatus is the state of a person's access.
type GrantStatus string

const (
	// GrantActive: made active by the last step of a grant task.
	GrantActive GrantStatus = "active"
	// GrantExpired: its expiry passed (ExpireGrants). Final.
	GrantExpired GrantStatus = "expired"
	// GrantRevoked: a revoke task finished. Final.
	GrantRevoked GrantStatus = "revoked"
)

// Grant is a person's access to an app or resource.
type Grant struct {
	ID         int64
	Subject    string
	AppID      string
	ResourceID string
	Status     GrantStatus
	StartsAt   time.Time
	ExpiresAt  time.Time // zero: permanent
	TaskID     int64     // the grant task that made (or last extended) it
	GrantedBy  string    // who provisioned or approved last
	EndedAt    time.Time
	EndTaskID  int64 // the revoke task that ended it, if any
	// WarnedAt is when the holder was told it is about to expire.
	WarnedAt  time.Time
	UpdatedAt time.Time
}

// Permanent reports whether the grant has no expiry.
func (g *Grant) Permanent() bool { return g.ExpiresAt.IsZero() }

// GrantOutcome is what became of the access a finished grant task gave, as
// its cards and details show it: the grant now (active, extended by a later
// task, expired or revoked) and the revoke task that ended it, if any.
type GrantOutcome struct {
	Grant *Grant
	// Ended is the revoke task that revoked the grant or removed it after
	// expiry; nil when there is none (or it was deleted).
	Ended *Task
}

// GrantOutcome returns what became of the access t gave, or nil when t is
// not a grant task that made or extended a grant.
func (e *Engine) GrantOutcome(ctx context.Context, t *Task) (*GrantOutcome, error) {
	if t == nil || t.Kind != KindGrant || t.Status != StatusDone || t.GrantID == 0 {
		return nil, nil
	}
	var out *GrantOutcome
	err := e.store.View(ctx, func(tx ReadTx) error {
		g, err := tx.Grant(t.GrantID)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		out = &GrantOutcome{Grant: g}
		if g.EndTaskID == 0 {
			return nil
		}
		end, err := tx.Task(g.EndTaskID)
		if err == nil {
			out.Ended = end
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		return nil
	})
	return out, err
}
