package workflow

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // people's time zones must resolve on hosts without zoneinfo
)

// SweepPage is how many tasks one sweep reads per page (and escalation
// handles per transaction), so a sweep over many rows never holds a
// snapshot or the write lock for long.
const SweepPage = 500

// SweepBatch is how many tasks (or grants) one sweep transaction writes.
// Each reminded task or expired grant dirties pages all over the audit
// index and the tables, written out at every commit; batches of a few
// thousand share those pages and hold the write lock about a tenth of a
// second.
const SweepBatch = 4 * SweepPage

// DefaultExpiryWarning is how long before a grant ends its holder is warned
// when the catalog says nothing.
const DefaultExpiryWarning = time.Hour

// Result says what a reminder sweep did.
type Result struct {
	Checked   int // open tasks waiting longer than reminders.after
	Reminded  int // tasks with at least one assignee reminded
	Notices   int // digest notices queued: one per person reminded
	Deferred  int // assignees due a reminder but outside their business hours
	Escalated int // tasks escalated
}

// RemindSweep reminds the pending assignees of every open task whose
// current step has waited longer than reminders.after, then again every
// reminders.every, and escalates steps that waited past
// reminders.escalate_after. A person is reminded only inside business hours
// (Monday to Friday) in their own chat time zone (UTC when unknown), with
// one digest notice listing every task that waits on them. Each reminded
// task gets a "reminded" audit event and its RemindedAt, so the sweep
// decides from stored state only: running it twice at the same instant, or
// on two replicas, reminds nobody twice. A zero reminders.after turns
// reminders off, a zero escalate_after escalation.
func (e *Engine) RemindSweep(ctx context.Context) (Result, error) {
	var res Result
	cfg := e.Catalog().Reminders
	if cfg.After > 0 {
		due, plans, err := e.planReminders(ctx, cfg, &res)
		if err != nil {
			return res, fmt.Errorf("plan reminders: %w", err)
		}
		if err := e.sendReminders(ctx, cfg, due, plans, &res); err != nil {
			return res, fmt.Errorf("send reminders: %w", err)
		}
	}
	if cfg.EscalateAfter > 0 {
		if err := e.escalate(ctx, cfg, &res); err != nil {
			return res, fmt.Errorf("escalate: %w", err)
		}
	}
	return res, nil
}

// planReminders reads, page by page on read snapshots, which task numbers
// each person is due to be reminded of now, and what reminding needs of
// those tasks.
func (e *Engine) planReminders(ctx context.Context, cfg Reminders, res *Result) (map[string][]int64, map[int64]*planned, error) {
	now := e.Now()
	due := map[string][]int64{}
	plans := map[int64]*planned{}
	zones := newZoneCache()
	// Task.RemindedAt is the oldest last reminder of its pending assignees
	// (zero while one was never reminded), so this skips, in SQL, tasks
	// nobody on which is due.
	remindedBefore := now.Add(-cfg.Every)
	if cfg.Every <= 0 {
		remindedBefore = time.Unix(1, 0) // reminded once: never again
	}
	var after int64
	var afterStart time.Time
	for {
		var page []*Task
		err := e.store.View(ctx, func(tx ReadTx) (err error) {
			page, err = tx.FindTasks(TaskQuery{StepStartedBefore: now.Add(-cfg.After), RemindedBefore: remindedBefore,
				ByStepStart: true, AfterStepStart: afterStart, AfterID: after, Limit: SweepPage, Lean: true})
			if err != nil {
				return err
			}
			return zones.load(tx, page)
		})
		if err != nil {
			return nil, nil, err
		}
		for _, t := range page {
			res.Checked++
			run, ok := t.currentRun()
			if !ok {
				continue
			}
			for i := range run.Assignees {
				a := &run.Assignees[i]
				if a.State != AssignPending || !remindDue(t, run, a, now, cfg) {
					continue
				}
				if !InBusinessHours(now, zones.of(a.Email), cfg.BusinessHours) {
					res.Deferred++
					continue
				}
				due[a.Email] = append(due[a.Email], t.ID)
				if plans[t.ID] == nil {
					plans[t.ID] = planOf(t, run)
				}
			}
		}
		if len(page) < SweepPage {
			return due, plans, nil
		}
		last := page[len(page)-1]
		after = last.ID
		if run, ok := last.currentRun(); ok {
			afterStart = run.StartedAt
		}
	}
}

// sendReminders reminds people in groups of about SweepBatch tasks, each
// group one transaction that re-checks every task, marks it and queues the
// digests, so a person's digest and the marks of its tasks commit together.
func (e *Engine) sendReminders(ctx context.Context, cfg Reminders, due map[string][]int64, plans map[int64]*planned, res *Result) error {
	people := make([]string, 0, len(due))
	for p := range due {
		people = append(people, p)
	}
	sort.Strings(people)
	waiting := map[int64]int{} // task -> people due a reminder of it in groups to come
	for _, ids := range due {
		for _, id := range ids {
			waiting[id]++
		}
	}
	reminded := map[int64]bool{}
	for len(people) > 0 {
		n, size := 0, 0
		for n < len(people) && (n == 0 || size+len(due[people[n]]) <= SweepBatch) {
			size += len(due[people[n]])
			n++
		}
		group := people[:n]
		people = people[n:]
		for _, p := range group {
			for _, id := range due[p] {
				waiting[id]--
			}
		}
		var tasks []*Task
		var notices int
		err := e.sweep(ctx, func(o *op) (err error) {
			tasks, notices, err = o.remindGroup(cfg, group, due, plans)
			return err
		})
		if err != nil {
			return err
		}
		for _, t := range tasks {
			if !reminded[t.ID] {
				reminded[t.ID] = true
				res.Reminded++
			}
			// A task waiting on people of later groups too is planned
			// again as this group left it, or its recording there would
			// be refused as moved on and the task read again.
			if run, ok := t.currentRun(); ok && waiting[t.ID] > 0 {
				plans[t.ID] = planOf(t, run)
			}
		}
		res.Notices += notices
	}
	return nil
}

// remindGroup reminds a group of people; it returns the tasks it reminded
// of, as recorded, and how many digests it queued.
func (o *op) remindGroup(cfg Reminders, group []string, due map[string][]int64, plans map[int64]*planned) ([]*Task, int, error) {
	var ids []int64
	seen := map[int64]bool{}
	for _, p := range group {
		for _, id := range due[p] {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	// planReminders plans every task it puts in due; SaveReminders
	// refuses those that moved on since.
	tasks := make([]*Task, len(ids))
	for i, id := range ids {
		tasks[i] = plans[id].task(id)
	}
	reminded, moved, err := o.markReminders(cfg, group, due, tasks)
	if err != nil {
		return nil, 0, err
	}
	if len(moved) > 0 {
		// Decided, reassigned or reminded since the plan (another
		// replica's sweep): decide those again on what is stored now,
		// which nobody can change before this transaction ends.
		gone := make(map[int64]bool, len(moved))
		for _, id := range moved {
			gone[id] = true
			delete(reminded, id)
		}
		tasks = slices.DeleteFunc(tasks, func(t *Task) bool { return gone[t.ID] })
		fresh, err := o.rd.FindTasks(TaskQuery{IDs: moved})
		if err != nil {
			return nil, 0, err
		}
		again, still, err := o.markReminders(cfg, group, due, fresh)
		if err != nil {
			return nil, 0, err
		}
		if len(still) > 0 {
			return nil, 0, Errorf(ECONFLICT, "the reminders of %d tasks changed while they were being recorded; the next sweep will send them", len(still))
		}
		maps.Copy(reminded, again)
		tasks = append(tasks, fresh...)
		slices.SortFunc(tasks, func(a, b *Task) int { return cmp.Compare(a.ID, b.ID) })
	}
	byID := make(map[int64]*Task, len(tasks))
	var done []*Task
	var doneIDs []int64
	for _, t := range tasks {
		byID[t.ID] = t
		if len(reminded[t.ID]) > 0 {
			done = append(done, t)
			doneIDs = append(doneIDs, t.ID)
		}
	}
	notices := 0
	for _, p := range group {
		var listed []*Task
		for _, id := range due[p] {
			if slices.Contains(reminded[id], p) {
				listed = append(listed, byID[id])
			}
		}
		if len(listed) > 0 {
			o.notify(digest(p, listed))
			notices++
		}
	}
	if err := o.preloadHeads(doneIDs); err != nil {
		return nil, 0, err
	}
	for _, t := range done {
		if err := o.audit(t, SystemActor, ActReminded, "", map[string]string{"to": strings.Join(reminded[t.ID], ","), "by": "schedule"}); err != nil {
			return nil, 0, err
		}
	}
	return done, notices, nil
}

// markReminders marks, in tasks, each person of group reminded of the tasks
// they are due a reminder of (by due) and records the reminder times (a
// reminder changes no assignee, step or status: only those times, which
// go to the store's reminder bookkeeping). It returns who it marked on
// each task and the tasks that moved on since they were read, whose marks
// it did not record.
func (o *op) markReminders(cfg Reminders, group []string, due map[string][]int64, tasks []*Task) (map[int64][]string, []int64, error) {
	byID := make(map[int64]*Task, len(tasks))
	for _, t := range tasks {
		byID[t.ID] = t
	}
	reminded := map[int64][]string{} // task -> people reminded of it
	for _, p := range group {
		for _, id := range due[p] {
			t := byID[id]
			if t == nil {
				continue
			}
			a := t.pending(p) // nil unless the task is at a current step
			if a == nil || t.Status != StatusOpen || !remindDue(t, &t.Steps[t.Step], a, o.now, cfg) {
				continue // decided, moved on or reminded meanwhile
			}
			a.RemindedAt = o.now
			reminded[id] = append(reminded[id], p)
		}
	}
	var save []*Task
	for _, t := range tasks {
		if len(reminded[t.ID]) > 0 {
			t.RemindedAt = oldestReminder(t)
			save = append(save, t)
		}
	}
	moved, err := o.tx.SaveReminders(save)
	if err != nil {
		return nil, nil, fmt.Errorf("remind: %w", err)
	}
	return reminded, moved, nil
}

// digest is one person's reminder of every task that waits on them.
func digest(person string, tasks []*Task) *Notice {
	nums := make([]string, len(tasks))
	ids := make([]int64, len(tasks))
	for i, t := range tasks {
		nums[i] = t.Number()
		ids[i] = t.ID
	}
	what := "1 task waits"
	if len(tasks) > 1 {
		what = fmt.Sprintf("%d tasks wait", len(tasks))
	}
	return &Notice{
		Recipient: person,
		Text:      fmt.Sprintf("Reminder: %s on you: %s.", what, strings.Join(nums, ", ")),
		Payload:   ReminderDigest{Tasks: ids, By: "schedule"},
	}
}

// oldestReminder is the oldest last reminder of the current step's pending
// assignees, zero when one of them was never reminded: the task is due
// again when its oldest reminder is Every old.
func oldestReminder(t *Task) time.Time {
	run, ok := t.currentRun()
	if !ok {
		return time.Time{}
	}
	var oldest time.Time
	for _, a := range run.Assignees {
		if a.State != AssignPending {
			continue
		}
		if a.RemindedAt.IsZero() {
			return time.Time{}
		}
		if oldest.IsZero() || a.RemindedAt.Before(oldest) {
			oldest = a.RemindedAt
		}
	}
	return oldest
}

// remindDue reports whether assignee a of t's current step is due a
// reminder at now: the step has waited longer than After, and a was never
// reminded or last reminded Every ago (a zero Every: once a step). A
// reminder sent by hand (Task.RemindedAt later than any assignee's) counts.
func remindDue(t *Task, run *StepRun, a *Assignment, now time.Time, cfg Reminders) bool {
	if run.StartedAt.IsZero() || now.Sub(run.StartedAt) <= cfg.After {
		return false
	}
	last := a.RemindedAt
	var latest time.Time
	for _, x := range run.Assignees {
		if x.RemindedAt.After(latest) {
			latest = x.RemindedAt
		}
	}
	if t.RemindedAt.After(latest) && t.RemindedAt.After(last) {
		last = t.RemindedAt
	}
	if last.IsZero() {
		return true
	}
	return cfg.Every > 0 && now.Sub(last) >= cfg.Every
}

// InBusinessHours reports whether now falls inside bh on a weekday in loc.
// A window with Start and End both zero is any time of any day; a window
// whose End is before its Start runs over midnight.
func InBusinessHours(now time.Time, loc *time.Location, bh BusinessHours) bool {
	if bh.Start == 0 && bh.End == 0 {
		return true
	}
	l := now.In(loc)
	if wd := l.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	tod := time.Duration(l.Hour())*time.Hour + time.Duration(l.Minute())*time.Minute + time.Duration(l.Second())*time.Second
	if bh.Start <= bh.End {
		return tod >= bh.Start && tod < bh.End
	}
	return tod >= bh.Start || tod < bh.End
}

// zoneCache resolves people's time zones once per sweep.
type zoneCache struct {
	byEmail map[string]*time.Location
	byName  map[string]*time.Location
}

func newZoneCache() *zoneCache {
	return &zoneCache{byEmail: map[string]*time.Location{}, byName: map[string]*time.Location{}}
}

// load looks up the zones of the pending assignees of tasks not yet known.
func (z *zoneCache) load(tx ReadTx, tasks []*Task) error {
	var want []string
	for _, t := range tasks {
		run, ok := t.currentRun()
		if !ok || t.Status != StatusOpen {
			continue
		}
		for _, a := range run.Assignees {
			if a.State != AssignPending {
				continue
			}
			p := a.Email
			if _, ok := z.byEmail[p]; !ok {
				z.byEmail[p] = time.UTC
				want = append(want, p)
			}
		}
	}
	if len(want) == 0 {
		return nil
	}
	tzs, err := tx.TimeZones(want)
	if err != nil {
		return err
	}
	for email, name := range tzs {
		loc, ok := z.byName[name]
		if !ok {
			if loc, err = time.LoadLocation(name); err != nil || name == "" {
				loc = time.UTC
			}
			z.byName[name] = loc
		}
		z.byEmail[email] = loc
	}
	return nil
}

// of returns email's zone; UTC when unknown.
func (z *zoneCache) of(email string) *time.Location {
	if loc, ok := z.byEmail[email]; ok {
		return loc
	}
	return time.UTC
}

// escalate adds helpers to every open step that has waited past
// escalate_after and was not escalated yet, a page per transaction.
func (e *Engine) escalate(ctx context.Context, cfg Reminders, res *Result) error {
	var after int64
	for {
		n := 0
		err := e.update(ctx, func(o *op) error {
			page, err := o.rd.FindTasks(TaskQuery{StepStartedBefore: o.now.Add(-cfg.EscalateAfter), Unescalated: true, AfterID: after, Limit: SweepPage})
			if err != nil {
				return err
			}
			n = len(page)
			for _, t := range page {
				after = t.ID
				ok, err := o.escalate(t, cfg)
				if err != nil {
					return fmt.Errorf("escalate %s: %w", t.Number(), err)
				}
				if ok {
					res.Escalated++
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if n < SweepPage {
			return nil
		}
	}
}

// escalate adds the current step's fallback (else the subject's manager,
// else the admins) to its pending assignees and marks the step escalated.
// It reports whether anyone was added.
func (o *op) escalate(t *Task, cfg Reminders) (bool, error) {
	step, run, ok := t.Current()
	if !ok || t.Status != StatusOpen || !t.EscalatedAt.IsZero() || o.now.Sub(run.StartedAt) <= cfg.EscalateAfter {
		return false, nil
	}
	people, source := o.escalationTargets(t, step, run)
	reason := fmt.Sprintf("step %d waited longer than %s (since %s)", t.Step+1, FormatDuration(cfg.EscalateAfter), run.StartedAt.UTC().Format("2006-01-02 15:04 MST"))
	before := len(run.Assignees)
	for _, p := range people {
		if err := o.assign(t, step, run, Assignment{Email: p, Via: ViaEscalated, Reason: reason, State: AssignPending}, people...); err != nil {
			return false, err
		}
	}
	var added []string
	for i := range run.Assignees[before:] {
		a := &run.Assignees[before+i]
		a.RemindedAt = o.now // their new card is their reminder; the next comes every later
		added = append(added, a.Email)
	}
	t.EscalatedAt = o.now
	details := map[string]string{"reason": reason, "to": source, "added": strings.Join(added, ",")}
	if len(added) == 0 {
		details["note"] = "nobody to add: everyone named is already assigned"
	}
	if err := o.audit(t, SystemActor, ActEscalated, "", details); err != nil {
		return false, err
	}
	if len(added) == 0 {
		return false, o.touch(t)
	}
	t.RemindedAt = oldestReminder(t)
	return true, o.move(t)
}

// escalationTargets are the step's fallback approvers, else the subject's
// manager, else the admins; never anyone barred from the step (the subject,
// the requester of a review), not people already pending, and in all mode
// not people who already decided on it.
func (o *op) escalationTargets(t *Task, step *Step, run *StepRun) ([]string, string) {
	ent, err := o.cat.Entitlement(t.AppID, t.ResourceID)
	if err != nil {
		ent = Entitlement{}
	}
	pending := map[string]bool{}
	for _, p := range t.PendingAssignees() {
		pending[p] = true
	}
	keep := func(list []string) []string {
		var out []string
		for _, p := range list {
			p = normEmail(p)
			if p == "" || pending[p] || t.barred(p, step) || (step.Mode == ModeAll && onStep(run, p)) {
				continue
			}
			out = append(out, p)
		}
		return out
	}
	if people := keep(resolveContext{cat: o.cat, subject: t.Subject, ent: ent}.resolve(step.Fallback)); len(people) > 0 {
		return people, "fallback"
	}
	if people := keep([]string{o.cat.Person(t.Subject).Manager}); len(people) > 0 {
		return people, "manager"
	}
	admins := append([]string(nil), o.cat.Admins...)
	sort.Strings(admins)
	return keep(admins), "admins"
}

// WarnExpiring tells the holder of every active grant that ends within
// reminders.expiry_warning (default an hour) and was not warned yet, with a
// NoticeExpiryWarning, and records WarnedAt. It returns how many it warned;
// running it twice at the same instant warns nobody twice. An extension
// clears WarnedAt, so the new expiry is warned of again.
func (e *Engine) WarnExpiring(ctx context.Context) (int, error) {
	warn := e.Catalog().Reminders.ExpiryWarning
	if warn <= 0 {
		warn = DefaultExpiryWarning
	}
	total := 0
	for {
		n := 0
		err := e.update(ctx, func(o *op) error {
			gs, err := o.rd.FindGrants(GrantQuery{Status: GrantActive, ExpiresAfter: o.now, ExpiresBefore: o.now.Add(warn), Unwarned: true, ByExpiry: true, Limit: SweepBatch})
			if err != nil {
				return err
			}
			for _, g := range gs {
				o.warnExpiring(g)
			}
			n = len(gs)
			o.markWarned(gs)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < SweepBatch {
			return total, nil
		}
	}
}

// warnExpiring marks g warned (the caller saves it) and queues the warning.
func (o *op) warnExpiring(g *Grant) {
	g.WarnedAt = o.now
	label := g.AppID
	if g.ResourceID != "" {
		label += "/" + g.ResourceID
	}
	if ent, err := o.cat.Entitlement(g.AppID, g.ResourceID); err == nil {
		label = ent.Label()
	}
	o.notify(&Notice{
		Recipient: g.Subject,
		Text:      fmt.Sprintf("Your access to %s ends at %s (%s). Request an extension if you still need it.", label, g.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"), inTime(g.ExpiresAt.Sub(o.now))),
		Payload:   ExpiryWarning{Grant: g.ID, App: g.AppID, Resource: g.ResourceID, ExpiresAt: g.ExpiresAt.UTC()},
	})
}

// inTime says how soon something happens: "in 1h", "in 45m", or "in less
// than a minute" (never "in none").
func inTime(left time.Duration) string {
	if left = left.Round(time.Minute); left < time.Minute {
		return "in less than a minute"
	}
	return "in " + FormatDuration(left)
}
