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
