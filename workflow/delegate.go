package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Audit actions of delegation windows switched by the scheduler (set and
// removed are ActDelegationSet and ActDelegationUnset).
const (
	ActDelegationStarted = "delegation_started"
	ActDelegationEnded   = "delegation_ended"
)

// DayLayout is how delegation dates are written: inclusive days in the
// person's own time zone.
const DayLayout = "2006-01-02"

// ParseDay reads a date written as DayLayout (2026-12-01) and returns it as
// midnight UTC of that day (only its year, month and day count).
func ParseDay(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	d, err := time.Parse(DayLayout, s)
	if err != nil {
		return time.Time{}, FieldError("date", "%q is not a date: write it as YYYY-MM-DD, for example 2026-12-01.", Truncate(s, 41))
	}
	return d, nil
}

// DelegateInput sets a person's delegate.
type DelegateInput struct {
	Actor    string // who asks: the person, or an admin for someone else
	Person   string // whose delegate; "" means Actor
	Delegate string
	// Start and End are inclusive days (DayLayout) in the person's time
	// zone. Both empty: permanent. End alone: from now until the end of End.
	// Start alone is refused: a temporary delegation needs its last day.
	Start, End string
	// TZ is the person's IANA time zone; "" means the one the bot stored for
	// them, else UTC.
	TZ string
}

// DelegateResult is what SetDelegation did.
type DelegateResult struct {
	Delegation *Delegation
	Replaced   *Delegation    // the delegation it replaced, nil when none
	Loc        *time.Location // the person's zone, in which the dates were read
}

// SetDelegation makes in.Delegate the delegate of in.Person, replacing any
// delegation the person had. Only new tasks follow it: tasks already
// assigned stay where they are. Both people (and a replaced delegate) are
// told by DM, and the admin chain records who set what.
func (e *Engine) SetDelegation(ctx context.Context, in DelegateInput) (*DelegateResult, error) {
	actor := normEmail(in.Actor)
	person := normEmail(in.Person)
	if person == "" {
		person = actor
	}
	delegate := normEmail(in.Delegate)
	var res *DelegateResult
	err := e.update(ctx, func(o *op) error {
		if err := o.mayDelegateFor(actor, person, "set"); err != nil {
			return err
		}
		switch {
		case delegate == "":
			return FieldError("delegate", "Choose the person your new tasks should go to.")
		case delegate == person && person == actor:
			return FieldError("delegate", "You cannot be your own delegate: choose a colleague.")
		case delegate == person:
			return FieldError("delegate", "%s cannot be their own delegate: choose someone else.", person)
		}
		loc, err := o.zoneOf(person, in.TZ)
		if err != nil {
			return err
		}
		starts, ends, err := window(o.now, loc, in.Start, in.End)
		if err != nil {
			return err
		}
		old, err := o.rd.Delegation(person)
		switch {
		case ErrorCode(err) == ENOTFOUND:
			old = nil
		case err != nil:
			return err
		}
		d := &Delegation{Email: person, Delegate: delegate, Starts: starts, Ends: ends, SetBy: actor, SetAt: o.now}
		d.Active = d.ActiveAt(o.now)
		o.putDelegation(d)
		details := delegationDetails(d, loc)
		if old != nil {
			details["replaced"] = old.Delegate
		}
		if err := o.adminAudit(actor, ActDelegationSet, "", details); err != nil {
			return err
		}
		o.delegationSetNotices(d, old, loc, actor)
		res = &DelegateResult{Delegation: d, Replaced: old, Loc: loc}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// RemoveDelegationInput clears a person's delegate.
type RemoveDelegationInput struct {
	Actor  string
	Person string // "" means Actor
}

// RemoveDelegation clears in.Person's delegate and returns what it was.
// Tasks already sent to the delegate stay with them.
func (e *Engine) RemoveDelegation(ctx context.Context, in RemoveDelegationInput) (*Delegation, error) {
	actor := normEmail(in.Actor)
	person := normEmail(in.Person)
	if person == "" {
		person = actor
	}
	var gone *Delegation
	err := e.update(ctx, func(o *op) error {
		if err := o.mayDelegateFor(actor, person, "remove"); err != nil {
			return err
		}
		d, err := o.rd.Delegation(person)
		if ErrorCode(err) == ENOTFOUND {
			if person == actor {
				return Errorf(ENOTFOUND, "You have no delegate, so there is nothing to remove.")
			}
			return Errorf(ENOTFOUND, "%s has no delegate, so there is nothing to remove.", person)
		}
		if err != nil {
			return err
		}
		o.deleteDelegation(person)
		loc, err := o.zoneOf(person, "")
		if err != nil {
			return err
		}
		if err := o.adminAudit(actor, ActDelegationUnset, "", delegationDetails(d, loc)); err != nil {
			return err
		}
		by := ""
		if actor != person {
			by = " by an admin (" + actor + ")"
		}
		o.dm(person, fmt.Sprintf("Your accessbot delegation to %s was removed%s: new access tasks come to you again. Tasks already sent to %s stay with them.", d.Delegate, by, d.Delegate))
		o.dm(d.Delegate, fmt.Sprintf("%s no longer delegates their accessbot tasks to you. Tasks you already have stay with you.", person))
		gone = d
		return nil
	})
	return gone, err
}

// SwitchResult says what SwitchDelegations did.
type SwitchResult struct {
	Started int // windows switched on
	Ended   int // windows over, removed
}

// SwitchDelegations switches temporary delegations on at their start and
// removes them after their end, telling both people once. It decides from
// stored state (the Active flag) inside one transaction, so running it twice
// at the same instant, or on two replicas, tells nobody twice.
func (e *Engine) SwitchDelegations(ctx context.Context) (SwitchResult, error) {
	var res SwitchResult
	now := e.Now()
	var due []string
	// A read first: most minutes nothing is due and no write lock is taken.
	err := e.store.View(ctx, func(tx ReadTx) error {
		all, err := tx.FindDelegations(DelegationQuery{})
		if err != nil {
			return err
		}
		for _, d := range all {
			if switchDue(d, now) {
				due = append(due, d.Email)
			}
		}
		return nil
	})
	if err != nil || len(due) == 0 {
		return res, err
	}
	err = e.update(ctx, func(o *op) error {
		res = SwitchResult{}
		zones, err := o.rd.TimeZones(due)
		if err != nil {
			return err
		}
		for _, email := range due {
			d, err := o.rd.Delegation(email)
			if ErrorCode(err) == ENOTFOUND {
				continue // removed meanwhile
			}
			if err != nil {
				return err
			}
			if !switchDue(d, o.now) {
				continue // switched meanwhile (another replica)
			}
			if err := o.switchDelegation(d, loadZone(zones[email]), &res); err != nil {
				return fmt.Errorf("switch delegation of %s: %w", email, err)
			}
		}
		return nil
	})
	return res, err
}

func (o *op) switchDelegation(d *Delegation, loc *time.Location, res *SwitchResult) error {
	switch {
	case delegationOver(d, o.now):
		o.deleteDelegation(d.Email)
		if err := o.adminAudit(SystemActor, ActDelegationEnded, "", delegationDetails(d, loc)); err != nil {
			return err
		}
		o.dm(d.Email, fmt.Sprintf("Your accessbot delegation to %s has ended: new access tasks come to you again. Tasks already sent to %s stay with them.", d.Delegate, d.Delegate))
		o.dm(d.Delegate, fmt.Sprintf("%s's accessbot delegation to you has ended: their new access tasks no longer come to you. Tasks you already have stay with you.", d.Email))
		res.Ended++
	case d.ActiveAt(o.now):
		d.Active = true
		o.putDelegation(d)
		if err := o.adminAudit(SystemActor, ActDelegationStarted, "", delegationDetails(d, loc)); err != nil {
			return err
		}
		until := "until you remove it"
		if !d.Ends.IsZero() {
			until = "until " + lastDay(d, loc)
		}
		o.dm(d.Email, fmt.Sprintf("Your accessbot delegation to %s has started: %s, new access tasks assigned to you go to them.", d.Delegate, until))
		o.dm(d.Delegate, fmt.Sprintf("%s's accessbot delegation to you has started: %s, new access tasks assigned to %s come to you.", d.Email, until, d.Email))
		res.Started++
	default:
		// Marked active before its start (the clock went back): quietly off.
		d.Active = false
		o.putDelegation(d)
	}
	return nil
}

// switchDue reports whether the scheduler must act on d at now.
func switchDue(d *Delegation, now time.Time) bool {
	return delegationOver(d, now) || d.Active != d.ActiveAt(now)
}

func delegationOver(d *Delegation, now time.Time) bool {
	return !d.Ends.IsZero() && !now.Before(d.Ends)
}

// mayDelegateFor checks that actor may change person's delegation.
func (o *op) mayDelegateFor(actor, person, verb string) error {
	if actor == "" {
		return Errorf(EFORBIDDEN, "accessbot cannot tell who you are.")
	}
	if actor != person && !o.cat.IsAdmin(actor) {
		return Errorf(EFORBIDDEN, "Only an accessbot admin can %s another person's delegate; nothing was changed.", verb)
	}
	return nil
}

// zoneOf is person's time zone: tz when given, else the stored chat zone,
// else UTC.
func (o *op) zoneOf(person, tz string) (*time.Location, error) {
	if tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, Errorf(EINVALID, "%q is not a time zone accessbot knows.", Truncate(tz, 61))
		}
		return loc, nil
	}
	zones, err := o.rd.TimeZones([]string{person})
	if err != nil {
		return nil, err
	}
	return loadZone(zones[person]), nil
}

// loadZone resolves an IANA name; an unknown or empty one is UTC.
func loadZone(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// window turns inclusive days in loc into the delegation's instants: the
// start of the first day and the start of the day after the last.
func window(now time.Time, loc *time.Location, start, end string) (time.Time, time.Time, error) {
	start, end = strings.TrimSpace(start), strings.TrimSpace(end)
	if start == "" && end == "" {
		return time.Time{}, time.Time{}, nil
	}
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var first time.Time
	if start != "" {
		s, err := ParseDay(start)
		if err != nil {
			return time.Time{}, time.Time{}, withField(err, "start")
		}
		if s.Before(today) {
			return time.Time{}, time.Time{}, FieldError("start", "The start date %s is before today (%s in %s). A delegation only redirects new tasks, so it cannot start in the past: start it today or later.",
				s.Format(DayLayout), today.Format(DayLayout), loc)
		}
		first = s
	}
	if end == "" {
		return time.Time{}, time.Time{}, FieldError("end", "A temporary delegation needs its last day: give an end date (YYYY-MM-DD).")
	}
	last, err := ParseDay(end)
	if err != nil {
		return time.Time{}, time.Time{}, withField(err, "end")
	}
	switch {
	case !first.IsZero() && last.Before(first):
		return time.Time{}, time.Time{}, FieldError("end", "The end date %s is before the start date %s: the end must be the same day or later.", last.Format(DayLayout), first.Format(DayLayout))
	case last.Before(today):
		return time.Time{}, time.Time{}, FieldError("end", "The end date %s is already past (today is %s in %s).", last.Format(DayLayout), today.Format(DayLayout), loc)
	}
	var starts time.Time
	if !first.IsZero() {
		starts = midnight(first, loc)
	}
	return starts, midnight(last.AddDate(0, 0, 1), loc), nil
}

func withField(err error, field string) error {
	if e := (*Error)(nil); errors.As(err, &e) {
		c := *e
		c.Field = field
		return &c
	}
	return err
}

// midnight is the first instant of day (a UTC date) in loc.
func midnight(day time.Time, loc *time.Location) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc).UTC()
}

const dayWords = "Mon 2 Jan 2006"

// firstDay and lastDay name a window's days in loc.
func firstDay(d *Delegation, loc *time.Location) string {
	return d.Starts.In(loc).Format(dayWords)
}

func lastDay(d *Delegation, loc *time.Location) string {
	return d.Ends.Add(-time.Nanosecond).In(loc).Format(dayWords) + " (" + loc.String() + ")"
}

// DescribeDelegation says when d applies, in the person's zone loc:
// "permanently", "from Tue 1 Dec 2026 to Tue 15 Dec 2026 (Europe/Paris)" or
// "until Tue 15 Dec 2026 (Europe/Paris)" once it has started.
func DescribeDelegation(d *Delegation, loc *time.Location, now time.Time) string {
	if loc == nil {
		loc = time.UTC
	}
	switch {
	case d.Starts.IsZero() && d.Ends.IsZero():
		return "permanently, until removed"
	case delegationOver(d, now):
		// Until the scheduler's next run removes it.
		return "until the end of " + lastDay(d, loc) + ", which is over"
	case d.Ends.IsZero() && now.Before(d.Starts):
		return "from " + firstDay(d, loc) + " (" + loc.String() + "), until removed"
	case d.Ends.IsZero():
		return "until removed"
	case !d.Starts.IsZero() && now.Before(d.Starts):
		return "from " + firstDay(d, loc) + " to " + lastDay(d, loc)
	}
	return "until the end of " + lastDay(d, loc)
}

func delegationDetails(d *Delegation, loc *time.Location) map[string]string {
	m := map[string]string{"person": d.Email, "delegate": d.Delegate, "set_by": d.SetBy, "tz": loc.String()}
	m["starts"] = formatExpiry(d.Starts)
	m["ends"] = formatExpiry(d.Ends)
	if d.Starts.IsZero() {
		m["starts"] = "when set"
	}
	return m
}

// delegationSetNotices tells the person, the new delegate and a replaced
// delegate what changed.
func (o *op) delegationSetNotices(d, old *Delegation, loc *time.Location, actor string) {
	when := DescribeDelegation(d, loc, o.now)
	pending := !d.ActiveAt(o.now)
	by := ""
	if actor != d.Email {
		by = " (set by an admin, " + actor + ")"
	}
	replaced := ""
	if old != nil && old.Delegate != d.Delegate {
		replaced = " It replaces your delegation to " + old.Delegate + "."
	} else if old != nil {
		replaced = " It replaces your earlier delegation to them."
	}
	verb := "go"
	if pending {
		verb = "will go"
	}
	o.dm(d.Email, fmt.Sprintf("Your accessbot delegate is now %s%s: new access tasks assigned to you %s to them %s. Tasks already assigned to you stay with you.%s",
		d.Delegate, by, verb, when, replaced))
	verb = "come"
	if pending {
		verb = "will come"
	}
	o.dm(d.Delegate, fmt.Sprintf("%s made you their accessbot delegate%s: new access tasks assigned to %s %s to you %s.",
		d.Email, by, d.Email, verb, when))
	if old != nil && old.Delegate != d.Delegate {
		o.dm(old.Delegate, fmt.Sprintf("%s no longer delegates their accessbot tasks to you (they chose %s). Tasks you already have stay with you.", d.Email, d.Delegate))
	}
}

// dm queues a plain direct message.
func (o *op) dm(to, text string) {
	o.notify(&Notice{Recipient: to, Text: text, Payload: DirectMessage{Topic: "delegation"}})
}

// PersonZone returns the chat time zone the bot stored for email (UTC when
// unknown), in which delegation dates are read and shown.
func (e *Engine) PersonZone(ctx context.Context, email string) (*time.Location, error) {
	email = normEmail(email)
	var name string
	err := e.store.View(ctx, func(tx ReadTx) error {
		zones, err := tx.TimeZones([]string{email})
		name = zones[email]
		return err
	})
	return loadZone(name), err
}

// DelegationsTo returns the delegations whose delegate is email.
func (e *Engine) DelegationsTo(ctx context.Context, email string) ([]*Delegation, error) {
	var ds []*Delegation
	err := e.store.View(ctx, func(tx ReadTx) (err error) {
		ds, err = tx.FindDelegations(DelegationQuery{Delegate: normEmail(email)})
		return err
	})
	return ds, err
}
