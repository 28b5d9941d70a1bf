package workflow

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Severity says how much an insight should weigh on a review. Insights
// never block a decision: they inform it.
type Severity int

const (
	// SeverityInfo is context: worth knowing, rarely a reason to pause.
	SeverityInfo Severity = iota + 1
	// SeverityNotice is unusual: worth a look before deciding.
	SeverityNotice
	// SeverityCaution is a reason to look hard before approving.
	SeverityCaution
)

func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityNotice:
		return "notice"
	case SeverityCaution:
		return "caution"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// InsightKind names what an insight is about.
type InsightKind string

// Insight kinds, each computed by one function of insights.go.
const (
	InsightPeers             InsightKind = "peers"               // teammates holding the access
	InsightHoldsNow          InsightKind = "holds_now"           // the subject holds it already (extension)
	InsightHeldBefore        InsightKind = "held_before"         // the subject held it before
	InsightDeniedBefore      InsightKind = "denied_before"       // the subject asked and was denied
	InsightDuration          InsightKind = "duration"            // against default, max and recent approvals
	InsightEmergency         InsightKind = "emergency"           // asked through the emergency policy
	InsightOffHours          InsightKind = "off_hours"           // asked outside the requester's business hours
	InsightRequestRate       InsightKind = "request_rate"        // more requests than usual for them
	InsightReviewerHolds     InsightKind = "reviewer_holds"      // the reviewer holds it too
	InsightReviewerIsManager InsightKind = "reviewer_is_manager" // the reviewer is the subject's manager
	InsightGrantOrigin       InsightKind = "grant_origin"        // revocations: when and by whom it was given
	InsightExpiresSoon       InsightKind = "expires_soon"        // revocations: it ends soon anyway
)

// weight orders insights of one severity: the higher, the stronger.
var insightWeight = map[InsightKind]int{
	InsightDeniedBefore: 10, InsightExpiresSoon: 9, InsightRequestRate: 8, InsightDuration: 7,
	InsightEmergency: 6, InsightOffHours: 6, InsightHeldBefore: 5, InsightHoldsNow: 5,
	InsightPeers: 4, InsightGrantOrigin: 3, InsightReviewerHolds: 2, InsightReviewerIsManager: 1,
}

// Insight is one thing a reviewer should know about a request, computed
// from accessbot's own data. Short and Text name people by email; People
// lists them so a renderer can turn them into mentions.
type Insight struct {
	Kind     InsightKind
	Severity Severity
	// Short is a few words for the line on the review card.
	Short string
	// Text is the plain-language explanation, with the numbers behind it.
	Text   string
	People []string
	// Facts are the numbers behind it, by name, for the audit record.
	Facts map[string]string
}

// Windows and thresholds of the insights, in one place so the texts and
// the tests agree.
const (
	// InsightRecent is the window of "recent" requests.
	InsightRecent = 30 * day
	// InsightHistory is how far before the recent window a person's usual
	// rate of requests is measured.
	InsightHistory = 330 * day
	// InsightApprovals is how far back approvals for others are compared.
	InsightApprovals = 90 * day
	// insightApprovalSample bounds the approvals read for the comparison.
	insightApprovalSample = 200
	// InsightExpirySoon: a grant ending within it "expires soon anyway".
	InsightExpirySoon = 3 * day
	// insightPeerChunk bounds the people one CountGrants names.
	insightPeerChunk = 500
)

// defaultInsightHours is the window "business hours" means for insights
// when the catalog sets none for reminders.
var defaultInsightHours = BusinessHours{Start: 9 * time.Hour, End: 18 * time.Hour}

// Insights computes what a reviewer of t should know, as reviewer sees it
// ("" leaves out the insights about the reviewer). It returns nothing
// unless t is open at a review step: insights are for reviews.
func (e *Engine) Insights(ctx context.Context, t *Task, reviewer string) ([]Insight, error) {
	if step, _, ok := t.Current(); !ok || step.Type != StepReview {
		return nil, nil
	}
	var out []Insight
	err := e.store.View(ctx, func(tx ReadTx) (err error) {
		out, err = computeInsights(tx, e.Catalog(), e.Now(), t, normEmail(reviewer))
		return err
	})
	return out, err
}

// seenInsights computes the insights the deciding reviewer saw, for the
// audit event of their decision: nil when there are none. A failure to
// compute them is recorded instead of refusing the decision. They are
// computed in the decision's transaction from the task it loaded: a read
// snapshot of their own cost a decision as much again as its write (a
// second transaction and load of the task, on a reader whose cache every
// write empties). Where the store can (isolatedTx), their reads run
// isolated, so that on PostgreSQL a failing insight query cannot abort
// the decision.
func (o *op) seenInsights(t *Task, reviewer string) map[string]string {
	if step, _, ok := t.Current(); !ok || step.Type != StepReview || t.Status != StatusOpen {
		return nil
	}
	var ins []Insight
	compute := func() (err error) {
		ins, err = computeInsights(o.rd, o.cat, o.now, t, reviewer)
		return err
	}
	var err error
	if iso, ok := o.rd.(isolatedTx); ok {
		err = iso.Isolated(compute)
	} else {
		err = compute()
	}
	if err != nil {
		return map[string]string{"insights": "unavailable"}
	}
	if len(ins) == 0 {
		return nil
	}
	return map[string]string{"insights": InsightSummary(ins)}
}

// isolatedTx is a Tx that can run reads whose failure leaves the rest of
// the transaction as it was (PostgreSQL aborts a transaction on an error,
// unless it is rolled back to a savepoint).
type isolatedTx interface {
	Isolated(fn func() error) error
}

// InsightSummary is the compact record of insights kept in an audit event:
// "kind:severity[fact=value ...]" joined by "; ", strongest first.
func InsightSummary(ins []Insight) string {
	parts := make([]string, len(ins))
	for i, in := range ins {
		keys := make([]string, 0, len(in.Facts))
		for k := range in.Facts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		facts := make([]string, len(keys))
		for j, k := range keys {
			facts[j] = k + "=" + in.Facts[k]
		}
		parts[i] = fmt.Sprintf("%s:%s[%s]", in.Kind, in.Severity, strings.Join(facts, " "))
	}
	return Truncate(strings.Join(parts, "; "), 2000)
}

// insightCtx is what every insight function reads.
type insightCtx struct {
	tx       ReadTx
	cat      *Catalog
	now      time.Time
	t        *Task
	reviewer string
	ent      Entitlement
	hasEnt   bool
	label    string
	res      string
	grants   []*Grant // the subject's newest grants of the access; nil: not read yet
	// revoked is a revoke task's grant, once revokedRead.
	revoked     *Grant
	revokedRead bool
}

// computeInsights runs every insight that applies to t, strongest first.
func computeInsights(tx ReadTx, cat *Catalog, now time.Time, t *Task, reviewer string) ([]Insight, error) {
	c := &insightCtx{tx: tx, cat: cat, now: now, t: t, reviewer: reviewer, res: t.ResourceID}
	c.label = t.AppID
	if t.ResourceID != "" {
		c.label += "/" + t.ResourceID
	}
	if ent, err := cat.Entitlement(t.AppID, t.ResourceID); err == nil {
		c.ent, c.hasEnt, c.label = ent, true, ent.Label()
	}
	fns := []func() (*Insight, error){c.peers, c.reviewerHolds, c.reviewerIsManager}
	if t.Kind == KindGrant {
		fns = append(fns, c.holdsNow, c.heldBefore, c.deniedBefore, c.duration, c.emergency, c.offHours, c.requestRate)
	} else {
		fns = append(fns, c.grantOrigin, c.expiresSoon)
	}
	var out []Insight
	for _, fn := range fns {
		in, err := fn()
		if err != nil {
			return nil, err
		}
		if in != nil {
			out = append(out, *in)
		}
	}
	SortInsights(out)
	return out, nil
}

// SortInsights orders insights strongest first: by severity, then by kind.
func SortInsights(ins []Insight) {
	sort.SliceStable(ins, func(i, j int) bool {
		if ins[i].Severity != ins[j].Severity {
			return ins[i].Severity > ins[j].Severity
		}
		return insightWeight[ins[i].Kind] > insightWeight[ins[j].Kind]
	})
}

// you names the reviewer as "you" and anyone else by email.
func (c *insightCtx) you(email string) string {
	if email != "" && email == c.reviewer {
		return "you"
	}
	return email
}

func day1(t time.Time) string { return t.UTC().Format("2006-01-02") }

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// peersOf lists the people the catalog says report to subject's manager,
// subject aside, sorted.
func peersOf(cat *Catalog, subject string) (manager string, peers []string) {
	manager = normEmail(cat.Person(subject).Manager)
	if manager == "" {
		return "", nil
	}
	// The catalog keeps emails normalised (config lower-cases them), so a
	// case-insensitive compare suffices here, in a loop over everyone.
	for email, p := range cat.People {
		if strings.EqualFold(p.Manager, manager) {
			if e := normEmail(email); e != subject {
				peers = append(peers, e)
			}
		}
	}
	sort.Strings(peers)
	return manager, peers
}

// peers: how many of the subject's teammates (same manager) hold the access
// now, and how many of its holders they are.
func (c *insightCtx) peers() (*Insight, error) {
	subject := normEmail(c.t.Subject)
	manager, peers := peersOf(c.cat, subject)
	if manager == "" || len(peers) == 0 {
		return nil, nil
	}
	active := GrantQuery{AppID: c.t.AppID, ResourceID: &c.res, Status: GrantActive}
	holders, err := c.tx.CountGrants(active)
	if err != nil {
		return nil, err
	}
	held := 0
	for from := 0; from < len(peers); from += insightPeerChunk {
		q := active
		q.Subjects = peers[from:min(from+insightPeerChunk, len(peers))]
		n, err := c.tx.CountGrants(q)
		if err != nil {
			return nil, err
		}
		held += n
	}
	in := &Insight{Kind: InsightPeers, Severity: SeverityInfo, People: []string{subject, manager},
		Facts: map[string]string{"peers": fmt.Sprint(len(peers)), "peer_holders": fmt.Sprint(held), "holders": fmt.Sprint(holders)}}
	team := fmt.Sprintf("people who, like %s, report to %s", subject, c.you(manager))
	switch {
	case held == 0 && holders > 0:
		in.Severity = SeverityNotice
		in.Short = fmt.Sprintf("None of %d teammates hold it", len(peers))
		in.Text = fmt.Sprintf("None of %s's %s (%s) hold %s now, though %s do.", subject, plural(len(peers), "teammate", "teammates"), team, c.label, plural(holders, "other person", "other people"))
	case held == 0:
		in.Short = "Nobody holds it yet"
		in.Text = fmt.Sprintf("Nobody holds %s now: not %s's %s (%s), nor anyone else.", c.label, subject, plural(len(peers), "teammate", "teammates"), team)
	default:
		in.Short = fmt.Sprintf("%d of %d teammates hold it", held, len(peers))
		in.Text = fmt.Sprintf("%d of %s's %s (%s) hold %s now; they are %d of its %s.", held, subject, plural(len(peers), "teammate", "teammates"), team, c.label, held, plural(holders, "holder", "holders"))
	}
	return in, nil
}

// reviewerHolds: the reviewer holds the access themselves.
func (c *insightCtx) reviewerHolds() (*Insight, error) {
	if c.reviewer == "" || c.reviewer == normEmail(c.t.Subject) {
		return nil, nil
	}
	gs, err := c.tx.FindGrants(GrantQuery{Subject: c.reviewer, AppID: c.t.AppID, ResourceID: &c.res, Status: GrantActive, Limit: 1})
	if err != nil || len(gs) == 0 {
		return nil, err
	}
	g := gs[0]
	return &Insight{Kind: InsightReviewerHolds, Severity: SeverityInfo, Short: "You hold it too",
		Text:   fmt.Sprintf("You hold %s yourself, since %s%s, so you know what it allows.", c.label, day1(g.StartsAt), untilText(g)),
		People: []string{c.reviewer}, Facts: map[string]string{"since": day1(g.StartsAt), "expires": expiryFact(g)}}, nil
}

// reviewerIsManager: the reviewer is the subject's manager.
func (c *insightCtx) reviewerIsManager() (*Insight, error) {
	subject := normEmail(c.t.Subject)
	manager := normEmail(c.cat.Person(subject).Manager)
	if c.reviewer == "" || manager == "" || manager != c.reviewer {
		return nil, nil
	}
	return &Insight{Kind: InsightReviewerIsManager, Severity: SeverityInfo, Short: "You are their manager",
		Text:   fmt.Sprintf("You are %s's manager in accessbot's configuration.", subject),
		People: []string{subject}, Facts: map[string]string{"manager": manager}}, nil
}

func untilText(g *Grant) string {
	if g.Permanent() {
		return ", permanently"
	}
	return ", until " + day1(g.ExpiresAt)
}

func expiryFact(g *Grant) string {
	if g.Permanent() {
		return "never"
	}
	return day1(g.ExpiresAt)
}

// subjectGrants returns the subject's newest grants of the access, read
// once for holdsNow and heldBefore.
func (c *insightCtx) subjectGrants() ([]*Grant, error) {
	if c.grants != nil {
		return c.grants, nil
	}
	gs, err := c.tx.FindGrants(GrantQuery{Subject: normEmail(c.t.Subject), AppID: c.t.AppID, ResourceID: &c.res, Newest: true, Limit: 20})
	if err != nil {
		return nil, err
	}
	if gs == nil {
		gs = []*Grant{}
	}
	c.grants = gs
	return gs, nil
}

// holdsNow: the subject holds the access already (an extension).
func (c *insightCtx) holdsNow() (*Insight, error) {
	subject := normEmail(c.t.Subject)
	gs, err := c.subjectGrants()
	if err != nil {
		return nil, err
	}
	var g *Grant
	for _, x := range gs {
		if x.Status == GrantActive {
			g = x
			break
		}
	}
	if g == nil {
		return nil, nil
	}
	return &Insight{Kind: InsightHoldsNow, Severity: SeverityInfo, Short: "Holds it now" + strings.Replace(untilText(g), ",", "", 1),
		Text:   fmt.Sprintf("%s holds %s now (since %s%s); this request would extend it.", subject, c.label, day1(g.StartsAt), untilText(g)),
		People: []string{subject}, Facts: map[string]string{"since": day1(g.StartsAt), "expires": expiryFact(g)}}, nil
}

// heldBefore: the subject held the access before: when, how long, how it
// ended. A revocation weighs more than an expiry.
func (c *insightCtx) heldBefore() (*Insight, error) {
	subject := normEmail(c.t.Subject)
	gs, err := c.subjectGrants()
	if err != nil {
		return nil, err
	}
	var last *Grant
	ended := 0
	for _, g := range gs {
		if g.Status == GrantActive {
			continue
		}
		ended++
		if last == nil || g.EndedAt.After(last.EndedAt) {
			last = g
		}
	}
	if last == nil {
		return nil, nil
	}
	held := last.EndedAt.Sub(last.StartsAt)
	in := &Insight{Kind: InsightHeldBefore, Severity: SeverityInfo, People: []string{subject},
		Facts: map[string]string{"times": fmt.Sprint(ended), "last_start": day1(last.StartsAt), "last_end": day1(last.EndedAt), "held": spanText(held), "ended": string(last.Status)}}
	times := ""
	if ended > 1 {
		times = fmt.Sprintf(" (%s in all)", plural(ended, "time", "times"))
	}
	how := "it expired"
	if last.Status == GrantRevoked {
		in.Severity = SeverityNotice
		how = "it was revoked"
		if last.EndTaskID != 0 {
			if rt, err := c.tx.Task(last.EndTaskID); err == nil {
				how = fmt.Sprintf("it was revoked (%s, proposed by %s", rt.Number(), rt.Requester)
				in.People = append(in.People, rt.Requester)
				if j := strings.TrimSpace(rt.Justification); j != "" {
					how += ": “" + Truncate(j, 200) + "”"
				}
				how += ")"
			} else if ErrorCode(err) != ENOTFOUND {
				return nil, err
			}
		}
		in.Short = "Had it before; revoked " + day1(last.EndedAt)
	} else {
		in.Short = "Had it before, " + spanText(held) + " until " + day1(last.EndedAt)
	}
	in.Text = fmt.Sprintf("%s held %s before%s: last from %s to %s (%s), and %s.", subject, c.label, times, day1(last.StartsAt), day1(last.EndedAt), spanText(held), how)
	return in, nil
}

// deniedBefore: the subject asked for the access and was denied: when, by
// whom, why. Within InsightApprovals it is a caution.
func (c *insightCtx) deniedBefore() (*Insight, error) {
	subject := normEmail(c.t.Subject)
	ts, err := c.tx.FindTasks(TaskQuery{Kind: KindGrant, Subject: subject, AppID: c.t.AppID, ResourceID: &c.res, Statuses: []Status{StatusDenied}, Newest: true, Limit: 1})
	if err != nil || len(ts) == 0 {
		return nil, err
	}
	d := ts[0]
	n, err := c.tx.CountTasks(TaskQuery{Kind: KindGrant, Subject: subject, AppID: c.t.AppID, ResourceID: &c.res, Statuses: []Status{StatusDenied}})
	if err != nil {
		return nil, err
	}
	by, why := "", ""
	for i := len(d.Steps) - 1; i >= 0; i-- {
		if d.Steps[i].Status == StepDenied {
			by, why = d.Steps[i].DecidedBy, strings.TrimSpace(d.Steps[i].Comment)
			break
		}
	}
	in := &Insight{Kind: InsightDeniedBefore, Severity: SeverityNotice, People: []string{subject},
		Facts: map[string]string{"times": fmt.Sprint(n), "last": day1(d.ClosedAt), "task": d.Number(), "by": by}}
	if c.now.Sub(d.ClosedAt) <= InsightApprovals {
		in.Severity = SeverityCaution
	}
	s := fmt.Sprintf("%s asked for %s before and was denied", subject, c.label)
	if n > 1 {
		s += fmt.Sprintf(" %d times", n)
	}
	s += fmt.Sprintf("; last in %s on %s", d.Number(), day1(d.ClosedAt))
	if by != "" {
		s += " by " + c.you(by)
		in.People = append(in.People, by)
	}
	if why != "" {
		s += ": “" + Truncate(why, 300) + "”"
	} else {
		s += ", with no reason given"
	}
	in.Text = s + "."
	in.Short = "Denied before, " + day1(d.ClosedAt)
	return in, nil
}

// duration compares the requested duration with the default and maximum of
// the access and with what others were approved for lately.
func (c *insightCtx) duration() (*Insight, error) {
	t := c.t
	d := t.Duration
	in := &Insight{Kind: InsightDuration, Severity: SeverityInfo, Facts: map[string]string{"requested": FormatDuration(d)}}
	var parts []string
	longerThanDefault := false
	if c.hasEnt {
		def := c.ent.DefaultDuration
		if def == 0 {
			def = Permanent
		}
		in.Facts["default"] = FormatDuration(def)
		switch {
		case longer(d, def):
			longerThanDefault = true
			parts = append(parts, "longer than the default of "+FormatDuration(def))
		case d == def:
			parts = append(parts, "the default")
		default:
			parts = append(parts, "shorter than the default of "+FormatDuration(def))
		}
		if c.ent.MaxDuration > 0 {
			in.Facts["max"] = FormatDuration(c.ent.MaxDuration)
			if d == c.ent.MaxDuration {
				parts = append(parts, "the maximum allowed")
			} else {
				parts = append(parts, "within the maximum of "+FormatDuration(c.ent.MaxDuration))
			}
		}
	}
	ds, err := c.tx.ApprovedDurations(t.AppID, t.ResourceID, c.now.Add(-InsightApprovals), normEmail(t.Subject), insightApprovalSample)
	if err != nil {
		return nil, err
	}
	longerThanOthers, muchLonger := false, false
	if len(ds) > 0 {
		med := medianDuration(ds)
		in.Facts["approved_n"] = fmt.Sprint(len(ds))
		in.Facts["approved_median"] = FormatDuration(med)
		longest := ds[0]
		for _, x := range ds {
			if longer(x, longest) {
				longest = x
			}
		}
		in.Facts["approved_longest"] = FormatDuration(longest)
		others := fmt.Sprintf("others were approved for %s (median of the last %s in %d days; the longest %s)",
			FormatDuration(med), plural(len(ds), "approval", "approvals"), int(InsightApprovals/day), FormatDuration(longest))
		if len(ds) >= 3 {
			longerThanOthers = longer(d, med)
			muchLonger = (d == Permanent && med != Permanent) || (d != Permanent && med > 0 && d >= 4*med)
			if longer(d, longest) {
				others += "; this is longer than all of them"
			}
		}
		parts = append(parts, others)
	}
	switch {
	case muchLonger:
		in.Severity = SeverityCaution
	case longerThanDefault || longerThanOthers || (d == Permanent && c.hasEnt):
		in.Severity = SeverityNotice
	}
	if len(parts) == 0 {
		return nil, nil
	}
	what := FormatDuration(d)
	if d == Permanent {
		what = "permanent access"
	}
	in.Text = fmt.Sprintf("Asks for %s: %s.", what, strings.Join(parts, "; "))
	switch {
	case in.Severity == SeverityCaution && in.Facts["approved_median"] != "":
		in.Short = fmt.Sprintf("%s vs %s usually approved", FormatDuration(d), in.Facts["approved_median"])
	case longerThanDefault:
		in.Short = fmt.Sprintf("%s, longer than the default %s", FormatDuration(d), in.Facts["default"])
	case longerThanOthers:
		in.Short = fmt.Sprintf("%s, longer than the usual %s", FormatDuration(d), in.Facts["approved_median"])
	default:
		in.Short = FormatDuration(d) + ", a usual duration"
	}
	return in, nil
}

// medianDuration is the median of ds, Permanent being the longest.
func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.SortFunc(s, func(a, b time.Duration) int {
		switch {
		case longer(a, b):
			return 1
		case longer(b, a):
			return -1
		}
		return 0
	})
	return s[(len(s)-1)/2]
}

// emergency: asked through the emergency policy.
func (c *insightCtx) emergency() (*Insight, error) {
	if !c.t.Emergency {
		return nil, nil
	}
	return &Insight{Kind: InsightEmergency, Severity: SeverityNotice, Short: "Emergency request",
		Text:   fmt.Sprintf("%s asked for this as an emergency, so it follows the emergency policy (%s) rather than the usual one.", normEmail(c.t.Requester), c.t.Policy.Name),
		People: []string{normEmail(c.t.Requester)}, Facts: map[string]string{"policy": c.t.Policy.Name}}, nil
}

// offHours: asked outside the requester's business hours, in their own
// chat time zone (UTC when accessbot does not know it).
func (c *insightCtx) offHours() (*Insight, error) {
	req := normEmail(c.t.Requester)
	bh := c.cat.Reminders.BusinessHours
	if bh.Start == 0 && bh.End == 0 {
		bh = defaultInsightHours
	}
	zones, err := c.tx.TimeZones([]string{req})
	if err != nil {
		return nil, err
	}
	loc, zone := time.UTC, "UTC, as accessbot does not know their time zone"
	if name := zones[req]; name != "" {
		if l, err := time.LoadLocation(name); err == nil {
			loc, zone = l, name
		}
	}
	at := c.t.CreatedAt
	if InBusinessHours(at, loc, bh) {
		return nil, nil
	}
	local := at.In(loc)
	in := &Insight{Kind: InsightOffHours, Severity: SeverityNotice, People: []string{req},
		Short: "Asked " + local.Format("Mon 15:04") + " their time",
		Text: fmt.Sprintf("%s asked on %s at %s their time (%s), outside business hours (%s–%s, Monday to Friday).",
			req, local.Format("Monday 2006-01-02"), local.Format("15:04"), zone, clockText(bh.Start), clockText(bh.End)),
		Facts: map[string]string{"local": local.Format("Mon 15:04"), "zone": loc.String()}}
	if c.t.Emergency {
		in.Text += " It is an emergency request, which may explain it."
	}
	return in, nil
}

func clockText(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour)%24, int(d%time.Hour/time.Minute))
}

// requestRate: the requester has more open or recent requests than usual
// for them. Recent: requests made in the last InsightRecent, plus older
// ones still open, this one included. Usual: their average per
// InsightRecent over the InsightHistory before that window, counted from
// their first request when it is younger.
func (c *insightCtx) requestRate() (*Insight, error) {
	req := normEmail(c.t.Requester)
	since := c.now.Add(-InsightRecent)
	base := TaskQuery{Kind: KindGrant, Requester: req}
	q := base
	q.CreatedAfter = since
	recent, err := c.tx.CountTasks(q)
	if err != nil {
		return nil, err
	}
	q = base
	q.CreatedBefore, q.Statuses = since, []Status{StatusOpen, StatusError}
	openOld, err := c.tx.CountTasks(q)
	if err != nil {
		return nil, err
	}
	total := recent + openOld
	if total < 3 {
		return nil, nil
	}
	from := since.Add(-InsightHistory)
	q = base
	q.CreatedAfter, q.CreatedBefore = from, since
	before, err := c.tx.CountTasks(q)
	if err != nil {
		return nil, err
	}
	var firstAt time.Time
	usual := 0.0
	if before > 0 {
		q.Limit = 1
		first, err := c.tx.FindTasks(q)
		if err != nil {
			return nil, err
		}
		if len(first) > 0 {
			firstAt = first[0].CreatedAt
		}
		usual = float64(before) / max(1, float64(since.Sub(firstAt))/float64(InsightRecent))
	}
	if float64(total) < 2*usual || float64(total) < usual+2 {
		return nil, nil
	}
	in := &Insight{Kind: InsightRequestRate, Severity: SeverityNotice, People: []string{req},
		Facts: map[string]string{"recent": fmt.Sprint(recent), "open_older": fmt.Sprint(openOld), "usual": fmt.Sprintf("%.1f", usual)}}
	if total >= 10 && float64(total) >= 3*usual {
		in.Severity = SeverityCaution
	}
	s := fmt.Sprintf("%s made %s in the last %d days", req, plural(recent, "request", "requests"), int(InsightRecent/day))
	if openOld > 0 {
		s += fmt.Sprintf(" and has %s from before still open", plural(openOld, "more", "more"))
	}
	s += " (this one included)"
	if before == 0 {
		s += fmt.Sprintf("; they made none in the %d days before.", int(InsightHistory/day))
	} else {
		s += fmt.Sprintf("; before that they made %.1f per %d days on average (%s since %s).", usual, int(InsightRecent/day), plural(before, "request", "requests"), day1(firstAt))
	}
	in.Text = s
	in.Short = fmt.Sprintf("%d requests lately (usually %.1f)", total, usual)
	return in, nil
}

// grantOrigin (revocations): when the access was given and by whom.
func (c *insightCtx) grantOrigin() (*Insight, error) {
	g, err := c.revokedGrant()
	if err != nil || g == nil {
		return nil, err
	}
	in := &Insight{Kind: InsightGrantOrigin, Severity: SeverityInfo, People: []string{normEmail(g.Subject)},
		Facts: map[string]string{"since": day1(g.StartsAt), "by": g.GrantedBy, "expires": expiryFact(g)}}
	s := fmt.Sprintf("%s got %s on %s (%s ago)", g.Subject, c.label, day1(g.StartsAt), spanText(c.now.Sub(g.StartsAt)))
	if g.GrantedBy != "" && g.GrantedBy != SystemActor {
		s += ", approved by " + c.you(g.GrantedBy)
		in.People = append(in.People, g.GrantedBy)
	}
	if g.TaskID != 0 {
		s += fmt.Sprintf(" in T-%d", g.TaskID)
	}
	if g.Permanent() {
		s += "; it is permanent."
	} else {
		s += "; it expires on " + day1(g.ExpiresAt) + "."
	}
	in.Text = s
	in.Short = "Given " + day1(g.StartsAt)
	if g.Permanent() {
		in.Short += ", permanent"
	}
	return in, nil
}

// expiresSoon (revocations): the access ends within InsightExpirySoon anyway.
func (c *insightCtx) expiresSoon() (*Insight, error) {
	g, err := c.revokedGrant()
	if err != nil || g == nil || g.Permanent() {
		return nil, err
	}
	left := g.ExpiresAt.Sub(c.now)
	if left > InsightExpirySoon {
		return nil, nil
	}
	in := &Insight{Kind: InsightExpiresSoon, Severity: SeverityNotice, People: []string{normEmail(g.Subject)},
		Facts: map[string]string{"expires": g.ExpiresAt.UTC().Format(time.RFC3339), "left": spanText(max(left, 0))}}
	if left <= 0 {
		in.Short = "Expired already"
		in.Text = fmt.Sprintf("%s's access to %s reached its expiry on %s; the expiry sweep ends it anyway.", g.Subject, c.label, day1(g.ExpiresAt))
		return in, nil
	}
	in.Short = "Expires in " + spanText(left) + " anyway"
	in.Text = fmt.Sprintf("%s's access to %s expires in %s anyway (%s), so denying leaves it to run out soon.", g.Subject, c.label, spanText(left), g.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"))
	return in, nil
}

// revokedGrant returns the grant a revoke task is about, read once; nil
// when it has none or it is gone.
func (c *insightCtx) revokedGrant() (*Grant, error) {
	if c.t.GrantID == 0 || c.revokedRead {
		return c.revoked, nil
	}
	g, err := c.tx.Grant(c.t.GrantID)
	switch {
	case ErrorCode(err) == ENOTFOUND:
		g = nil
	case err != nil:
		return nil, err
	}
	c.revoked, c.revokedRead = g, true
	return g, nil
}

// spanText writes a length of time in its largest whole unit.
func spanText(d time.Duration) string {
	switch {
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute", "minutes")
	case d < 2*day:
		return plural(int(d/time.Hour), "hour", "hours")
	default:
		return plural(int(d/day), "day", "days")
	}
}
