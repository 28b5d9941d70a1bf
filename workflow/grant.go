package workflow

import "time"

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
