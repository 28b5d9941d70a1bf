package workflow

import (
	"context"
	"strconv"
	"strings"
	"unicode"
)

// Comment audit actions: an edit or a deletion of a comment made in a chat
// thread. The chain is append-only, so the original event stays; these name
// it by its Seq (details "comment_seq").
const (
	ActCommentEdited  = "comment_edited"
	ActCommentDeleted = "comment_deleted"
)

// Comment sources, as audit details and comment notices carry them.
const (
	SourceModal    = "modal"
	SourceThread   = "thread"
	SourceDecision = "decision"
)

// Comment notice operations (CommentPosted.Op); a new comment has none.
const (
	CommentOpEdited  = "edited"
	CommentOpDeleted = "deleted"
)

// MessageRef names a chat message (a thread reply) that carries a comment,
// so its edits and deletion find the comment again.
type MessageRef struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// IsZero reports whether no message is named.
func (m MessageRef) IsZero() bool { return m.Channel == "" || m.TS == "" }

// ref is m, or the zero MessageRef when m names no message (a notice
// then leaves it out).
func (m MessageRef) ref() MessageRef {
	if m.IsZero() {
		return MessageRef{}
	}
	return m
}

// details adds the message's reference to audit details.
func (m MessageRef) details(d map[string]string) map[string]string {
	if m.IsZero() {
		return d
	}
	if d == nil {
		d = map[string]string{}
	}
	d["channel"], d["ts"] = m.Channel, m.TS
	return d
}

// Threads configures what people may write in a task's chat threads to act
// on it: a reply by an assignee of a provision (deprovision) step that starts
// with one of ProvisionedWords (DeprovisionedWords) marks the step done, one
// that starts with one of WontWords and gives a reason marks it not done.
// Words are lower case and matched without regard to case.
type Threads struct {
	ProvisionedWords   []string
	DeprovisionedWords []string
	WontWords          []string
}

// DefaultThreads are the acknowledgment words when the configuration names none.
func DefaultThreads() Threads {
	return Threads{
		ProvisionedWords:   []string{"done", "provisioned"},
		DeprovisionedWords: []string{"done", "deprovisioned"},
		WontWords:          []string{"won't", "wont"},
	}
}

// ThreadsOrDefault returns the catalog's thread words, the defaults for any
// list it leaves empty.
func (c *Catalog) ThreadsOrDefault() Threads {
	d := DefaultThreads()
	if c == nil {
		return d
	}
	t := c.Threads
	if len(t.ProvisionedWords) == 0 {
		t.ProvisionedWords = d.ProvisionedWords
	}
	if len(t.DeprovisionedWords) == 0 {
		t.DeprovisionedWords = d.DeprovisionedWords
	}
	if len(t.WontWords) == 0 {
		t.WontWords = d.WontWords
	}
	return t
}

// NormalizeWord is how thread words and replies are compared: lower case,
// typographic apostrophes made plain, inner spaces collapsed.
func NormalizeWord(s string) string {
	s = strings.NewReplacer("\u2019", "'", "\u2018", "'", "\u02bc", "'").Replace(strings.ToLower(s))
	return strings.Join(strings.Fields(s), " ")
}

// Acknowledgment reads a reply in the thread of a card for a step of type
// step: the action its first words ask for and the rest of the text, or ""
// when it starts with none of the words. A review step has no words.
func (t Threads) Acknowledgment(step StepType, text string) (Action, string) {
	var yes []string
	var yesAct, noAct Action
	switch step {
	case StepProvision:
		yes, yesAct, noAct = t.ProvisionedWords, ActionProvisioned, ActionWontProvision
	case StepDeprovision:
		yes, yesAct, noAct = t.DeprovisionedWords, ActionDeprovisioned, ActionWontDeprovision
	default:
		return "", ""
	}
	body := strings.TrimSpace(text)
	norm := NormalizeWord(body)
	best, bestLen := Action(""), 0
	try := func(words []string, a Action) {
		for _, w := range words {
			w = NormalizeWord(w)
			if w == "" || len(w) <= bestLen || !strings.HasPrefix(norm, w) {
				continue
			}
			if rest := norm[len(w):]; rest != "" {
				if r := []rune(rest)[0]; unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' {
					continue // "doneness", "wontfix"
				}
			}
			best, bestLen = a, len(w)
		}
	}
	try(yes, yesAct)
	try(t.WontWords, noAct)
	if best == "" {
		return "", ""
	}
	// Cut as many words from the original text as the matched word has, so
	// the comment keeps the person's own spelling and line breaks.
	n := len(strings.Fields(NormalizeWord(norm[:bestLen])))
	rest := body
	for range n {
		rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
		i := strings.IndexFunc(rest, unicode.IsSpace)
		word := rest
		if i >= 0 {
			word = rest[:i]
		}
		// A word glued to punctuation ("done:" / "done,") loses only the word.
		cut := len(word)
		for j, r := range word {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("'\u2019\u2018\u02bc", r) {
				cut = j
				break
			}
		}
		rest = rest[cut:]
	}
	rest = strings.TrimLeftFunc(rest, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune(":,.;-–—!", r) })
	return best, strings.TrimSpace(rest)
}

// CommentEdit changes or deletes the comment a chat message carries.
type CommentEdit struct {
	TaskID  int64
	Actor   string // who edited; for a deletion, the message's author
	Message MessageRef
	Text    string // the new text (edits)
}

// EditComment records a new text for the comment that Message carries.
// Only its author may edit it; the same text again (Slack sends an edit
// event when a link unfurls) changes nothing and returns false. Finished
// tasks take edits too.
func (e *Engine) EditComment(ctx context.Context, in CommentEdit) (bool, error) {
	in.Actor = normEmail(in.Actor)
	body, err := text("comment", in.Text, true)
	if err != nil {
		return false, err
	}
	changed := false
	err = e.update(ctx, func(o *op) error {
		t, orig, cur, err := o.threadComment(in)
		if err != nil {
			return err
		}
		if normEmail(orig.Actor) != in.Actor {
			return Errorf(EFORBIDDEN, "Only %s, who wrote it, can change that comment on %s.", orig.Actor, t.Number())
		}
		if cur.deleted {
			return Errorf(ECONFLICT, "That comment on %s was deleted.", t.Number())
		}
		if orig.Action != ActCommented && orig.Step >= 0 && orig.Step < len(t.Policy.Steps) {
			// The reply acknowledged a step: its first word was the
			// decision, the rest the comment. An edit keeps that split.
			if a, rest := o.cat.ThreadsOrDefault().Acknowledgment(t.Policy.Steps[orig.Step].Type, body); a != "" && rest != "" {
				body = rest
			}
		}
		if cur.text == body {
			return nil
		}
		changed = true
		return o.commentChange(t, orig, in.Actor, ActCommentEdited, body, CommentOpEdited, in.Message)
	})
	return changed, err
}

// DeleteComment marks the comment that Message carries as deleted. Chat
// tools do not say who deleted a message, so the actor is its author.
// Deleting it again returns false.
func (e *Engine) DeleteComment(ctx context.Context, in CommentEdit) (bool, error) {
	in.Actor = normEmail(in.Actor)
	changed := false
	err := e.update(ctx, func(o *op) error {
		t, orig, cur, err := o.threadComment(in)
		if err != nil {
			return err
		}
		if cur.deleted {
			return nil
		}
		changed = true
		actor := in.Actor
		if actor == "" {
			actor = normEmail(orig.Actor)
		}
		return o.commentChange(t, orig, actor, ActCommentDeleted, "", CommentOpDeleted, in.Message)
	})
	return changed, err
}

// commentState is a comment as its edits and deletion left it.
type commentState struct {
	text    string
	deleted bool
}

// threadComment finds the task, the event that first carried the comment of
// in.Message and the comment's current state.
func (o *op) threadComment(in CommentEdit) (*Task, *AuditEvent, commentState, error) {
	if in.Message.IsZero() {
		return nil, nil, commentState{}, Errorf(EINVALID, "no message names the comment")
	}
	t, err := o.rd.Task(in.TaskID)
	if err != nil {
		return nil, nil, commentState{}, err
	}
	evs, err := o.rd.AuditEvents(t.ID)
	if err != nil {
		return nil, nil, commentState{}, err
	}
	var orig *AuditEvent
	for i := range evs {
		ev := &evs[i]
		if ev.Details["channel"] != in.Message.Channel || ev.Details["ts"] != in.Message.TS {
			continue
		}
		if ev.Action != ActCommentEdited && ev.Action != ActCommentDeleted && ev.Comment != "" && orig == nil {
			orig = ev
		}
	}
	if orig == nil {
		return nil, nil, commentState{}, Errorf(ENOTFOUND, "%s has no comment from that message.", t.Number())
	}
	ch := CommentChanges(evs)[orig.Seq]
	cur := commentState{text: orig.Comment, deleted: ch.Deleted}
	if ch.Text != "" {
		cur.text = ch.Text
	}
	return t, orig, cur, nil
}

// CommentChange is what later edits and deletions made of a comment: its
// newest text, or Deleted.
type CommentChange struct {
	Text    string
	Deleted bool
}

// CommentChanges returns, by the Seq of the event that carried each
// comment, what later edits and deletions made of it. Comments never edited
// are left out.
func CommentChanges(evs []AuditEvent) map[int64]CommentChange {
	out := map[int64]CommentChange{}
	for _, ev := range evs {
		if ev.Action != ActCommentEdited && ev.Action != ActCommentDeleted {
			continue
		}
		seq, err := strconv.ParseInt(ev.Details["comment_seq"], 10, 64)
		if err != nil {
			continue
		}
		if ev.Action == ActCommentDeleted {
			out[seq] = CommentChange{Deleted: true}
		} else if !out[seq].Deleted {
			out[seq] = CommentChange{Text: ev.Comment}
		}
	}
	return out
}

// commentChange audits an edit or deletion of orig and queues the notice
// that updates its mirrored copies.
func (o *op) commentChange(t *Task, orig *AuditEvent, actor, action, body, op string, msg MessageRef) error {
	seq := strconv.FormatInt(orig.Seq, 10)
	src := orig.Details["source"]
	if src == "" {
		src = SourceThread
	}
	if err := o.audit(t, actor, action, body, msg.details(map[string]string{"comment_seq": seq, "source": src})); err != nil {
		return err
	}
	o.notices = append(o.notices, &Notice{TaskID: t.ID, Text: body, CreatedAt: o.now, NextAt: o.now,
		Payload: CommentPosted{Actor: normEmail(orig.Actor), Source: src, Op: op, Seq: orig.Seq, From: msg.ref()}})
	return o.touch(t)
}
