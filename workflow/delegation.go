package workflow

import "time"

// Delegation sends a person's new assignments to a delegate, permanently
// (zero Starts and Ends) or inside a window.
type Delegation struct {
	Email    string
	Delegate string
	Starts   time.Time // zero: from when it was set
	Ends     time.Time // zero: until removed; exclusive instant
	SetBy    string
	SetAt    time.Time
	// Active is switched by the scheduler at Starts and Ends, so that the
	// DMs about a window are sent once.
	Active bool
}

// ActiveAt reports whether the delegation applies at now.
func (d *Delegation) ActiveAt(now time.Time) bool {
	if !d.Starts.IsZero() && now.Before(d.Starts) {
		return false
	}
	if !d.Ends.IsZero() && !now.Before(d.Ends) {
		return false
	}
	return true
}
