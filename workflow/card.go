package workflow

import "time"

// Card is a chat message that shows a task: an assignee's DM, the
// requester's status message or a channel post. Its reference (Channel, TS)
// is stored so the card is updated in place, never posted twice.
type Card struct {
	ID       int64
	TaskID   int64
	Role     CardRole
	Email    string // whose DM; "" for a channel post
	Step     int    // the step an assignee card is for; -1 for status and channel cards
	Channel  string
	TS       string
	Revision int64 // the task revision the card shows
	// Final is set once the card shows an outcome with no buttons left.
	Final     bool
	UpdatedAt time.Time
}

// CardRole says whom a card is for.
type CardRole string

const (
	CardAssignee  CardRole = "assignee"
	CardRequester CardRole = "requester"
	CardChannel   CardRole = "channel"
)

// ChatUser maps a person's email to their chat account, cached by the bot.
type ChatUser struct {
	Email      string
	ChatID     string // Slack user id
	Name       string
	TZ         string // IANA zone, e.g. Europe/Paris
	IsBot      bool
	Deleted    bool
	ResolvedAt time.Time
}

// CommentMirror is a copy of a comment the bot posted in a card's thread:
// the comment (TaskID, Seq of the audit event that carries it) and the
// message. Recorded per channel, so a comment goes into each at most once.
type CommentMirror struct {
	TaskID   int64
	Seq      int64
	Channel  string
	ThreadTS string
	TS       string
	PostedAt time.Time
}

// The card rules: which cards a task needs, and which of them carry
// buttons. Delivery posts and marks cards by them and package blocks draws
// by them, so a card's buttons and its Final flag never disagree. Who a
// task waits on is Task.PendingAssignees (and, while it runs, the
// connector: Task.ConnectorBusy).

// ConnectorBusy reports whether the current step is with its connector
// (a job waits or runs): nobody is asked to act meanwhile.
func (t *Task) ConnectorBusy() bool {
	run, ok := t.currentRun()
	return ok && t.Status == StatusOpen && run.Connector != nil && run.Connector.State == ConnectorPending
}

// CardActionable reports whether card c of t carries buttons: t is open on
// the card's step and the card's person is pending there (an assignee's
// DM), or the step is a provision or deprovision step not with its
// connector (the app's channel post). A requester's card has none. A card
// of an earlier step never has any, also when its person is pending on the
// current step again (they get a card of that step). A channel card of
// step -1 (none recorded) is the current step's.
func CardActionable(t *Task, c Card) bool {
	step, _, ok := t.Current()
	if !ok || t.Status != StatusOpen || (c.Step != t.Step && (c.Role != CardChannel || c.Step >= 0)) {
		return false
	}
	switch c.Role {
	case CardAssignee:
		return t.pending(c.Email) != nil
	case CardChannel:
		return step.Type.hasChannelCard() && !t.ConnectorBusy()
	}
	return false
}

// hasChannelCard reports whether a step of type s is worked from the
// app's channel card: the one rule CardsNeeded and CardActionable share.
func (s StepType) hasChannelCard() bool { return s == StepProvision || s == StepDeprovision }

// CardNeed is a card a task should have: whose, and for which step.
type CardNeed struct {
	Role  CardRole
	Email string // "" for the channel card
	Step  int
}

// CardsNeeded lists the cards t should have now, in the order they are
// posted: the requester's status card (unless the engine asked for the
// task), then, while it is open, a card for each pending assignee of the
// current step, and the app's channel card (channel, "" when the app has
// none) of a provision or deprovision step. Delivery posts those it has not
// posted yet.
func CardsNeeded(t *Task, channel string) []CardNeed {
	var out []CardNeed
	if t.Requester != SystemActor {
		out = append(out, CardNeed{Role: CardRequester, Email: t.Requester, Step: -1})
	}
	step, _, open := t.Current()
	if !open || t.Status != StatusOpen {
		return out
	}
	for _, email := range t.PendingAssignees() {
		out = append(out, CardNeed{Role: CardAssignee, Email: email, Step: t.Step})
	}
	if step.Type.hasChannelCard() && channel != "" {
		out = append(out, CardNeed{Role: CardChannel, Step: t.Step})
	}
	return out
}

// DigestCard is a posted reminder digest (NoticeDigest): one message to
// Email listing several tasks, redrawn like a card whenever one of them
// changes.
type DigestCard struct {
	ID       int64
	NoticeID int64 // the digest notice it was posted for
	Email    string
	Channel  string
	TS       string
	// Tasks are the tasks it lists, in order, each with the revision the
	// message shows (-1: the task is gone).
	Tasks []DigestTask
	// Version counts saves: a save of a version that is not the stored
	// one is refused (ECONFLICT), as another redraw got there first.
	Version   int64
	UpdatedAt time.Time
}

// DigestTask is one task a digest lists and the revision it shows.
type DigestTask struct {
	TaskID   int64
	Revision int64
}

// TaskIDs are the tasks d lists, in order.
func (d *DigestCard) TaskIDs() []int64 {
	ids := make([]int64, len(d.Tasks))
	for i, t := range d.Tasks {
		ids[i] = t.TaskID
	}
	return ids
}

// Shows reports the revision d shows of task id and whether d lists it.
func (d *DigestCard) Shows(id int64) (int64, bool) {
	for _, t := range d.Tasks {
		if t.TaskID == id {
			return t.Revision, true
		}
	}
	return 0, false
}
