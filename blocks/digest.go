package blocks

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// DigestInput is one person's reminder digest: the tasks that wait on them.
type DigestInput struct {
	// Viewer is the email of the person reminded.
	Viewer string
	// Tasks are the tasks the digest lists, in the order given. A task
	// that no longer waits on Viewer (decided, moved on, closed) is listed
	// without buttons, with where it is now, so that a digest rendered
	// again after a click shows what changed.
	Tasks []*workflow.Task
	// More counts tasks waiting on Viewer that the digest does not list
	// (a digest rendered again keeps its "and N more" line).
	More int
	// Cat names the apps and resources; nil shows the tasks' ids.
	Cat *workflow.Catalog
	Dir Directory
	Now time.Time
}

// Block IDs of a digest: each listed task has a section and, while it
// waits on the viewer, an actions block, named with the task's number so
// that a click says which task it came from and a digest can be rendered
// again from its own message.
const (
	BlockDigestTask    = "digest_task_"    // + task number: the task's section
	BlockDigestActions = "digest_actions_" // + task number: its buttons
	BlockDigestMore    = "digest_more_"    // + count: the "and N more" line
)

// digestTaskBlocks is what each listed task takes: its section and its
// buttons.
const digestTaskBlocks = 2

// maxDigestTasks is how many tasks fit in one message next to the header
// and the "and N more" line.
const maxDigestTasks = (maxMessageBlocks - 2) / digestTaskBlocks

// Digest renders a reminder digest: a header, then for each task a line
// saying what it asks and how long it has waited, with the primary buttons
// of its current step (Approve/Deny, Confirm/Deny, Provisioned/Won't
// provision, Deprovisioned/Won't deprovision) carrying the task's revision
// like a card's, so a click on a digest is a click on the task and a stale
// one is refused. Tasks beyond what one message holds are counted in a
// last line that points to the App Home.
func Digest(in DigestInput) (fallbackText string, blocks []slack.Block) {
	w := words{dir: in.Dir, now: in.Now}
	var tasks []*workflow.Task
	waiting := 0
	for _, t := range in.Tasks {
		if t == nil {
			continue
		}
		tasks = append(tasks, t)
		if waitsOn(t, in.Viewer) {
			waiting++
		}
	}
	head := "Nothing waits on you any more"
	switch {
	case waiting+in.More == 0:
	case waiting == 1 && in.More == 0:
		head = "1 task waits on you"
	default:
		head = fmt.Sprintf("%d tasks wait on you", waiting+max(in.More, 0))
	}
	bs := []slack.Block{header(":bell: " + head)}
	shown := tasks
	if len(shown) > maxDigestTasks {
		shown = shown[:maxDigestTasks]
	}
	var nums []string
	for _, t := range tasks {
		if waitsOn(t, in.Viewer) {
			nums = append(nums, t.Number())
		}
	}
	for _, t := range shown {
		bs = append(bs, digestTask(w, in, t)...)
	}
	if rest := len(tasks) - len(shown) + max(in.More, 0); rest > 0 {
		more := contextBlock(fmt.Sprintf("…and %d more — see your App Home for every task that waits on you.", rest))
		more.BlockID = BlockDigestMore + strconv.Itoa(rest)
		bs = append(bs, more)
	}
	text := "Reminder: " + strings.ToLower(head[:1]) + head[1:]
	if len(nums) > 0 {
		text += ": " + strings.Join(nums, ", ")
	}
	return truncate(text+".", maxFallbackText), bs
}

// waitsOn reports whether t waits on email now.
func waitsOn(t *workflow.Task, email string) bool {
	for _, p := range t.PendingAssignees() {
		if sameEmail(p, email) {
			return true
		}
	}
	return false
}

// digestTask is a task's section and, while it waits on the viewer, its
// buttons.
func digestTask(w words, in DigestInput, t *workflow.Task) []slack.Block {
	var ent workflow.Entitlement
	if in.Cat != nil {
		ent, _ = in.Cat.Entitlement(t.AppID, t.ResourceID)
	}
	id := strconv.FormatInt(t.ID, 10)
	ref := EncodeRef(t.ID, t.Revision)
	step, run, open := t.Current()
	name := kindTitle(t.Kind)
	if open {
		name = title(t.Kind, step.Type)
	}
	text := "*" + t.Number() + "* · " + name + "\n" + summary(w, t, ent, bold)
	waits := open && waitsOn(t, in.Viewer)
	if waits {
		if ago := w.since(run.StartedAt); ago != "" {
			text += "\nWaiting on you for " + ago + "."
		}
	} else {
		text += "\n" + headline(w, t)
	}
	sec := slack.NewSectionBlock(md(text, maxSectionText), nil,
		slack.NewAccessory(button(ActDetails, "Details", ref, "")))
	sec.BlockID = BlockDigestTask + id
	if !waits {
		return []slack.Block{sec}
	}
	var els []slack.BlockElement
	switch {
	case step.Type == workflow.StepReview && t.Kind == workflow.KindGrant:
		els = append(els, button(ActApprove, "Approve", ref, slack.StylePrimary), button(ActDeny, "Deny", ref, slack.StyleDanger))
	case step.Type == workflow.StepReview:
		els = append(els, button(ActConfirm, "Confirm", ref, slack.StylePrimary), button(ActDeny, "Deny", ref, slack.StyleDanger))
	case step.Type == workflow.StepProvision:
		els = append(els, button(ActProvisioned, "Provisioned", ref, slack.StylePrimary), button(ActWontProvision, "Won't provision", ref, slack.StyleDanger))
	default:
		els = append(els, button(ActDeprovisioned, "Deprovisioned", ref, slack.StylePrimary), button(ActWontDeprovision, "Won't deprovision", ref, slack.StyleDanger))
	}
	act := actions(els...)
	act.BlockID = BlockDigestActions + id
	return []slack.Block{sec, act}
}

// DigestListed reads a digest message back: the task numbers it lists, in
// order, and how many more it counts, from its block IDs, so that the bot
// can render it again after a click.
func DigestListed(bs []slack.Block) (ids []int64, more int) {
	for _, b := range bs {
		var id string
		switch b := b.(type) {
		case *slack.SectionBlock:
			id = b.BlockID
		case *slack.ContextBlock:
			id = b.BlockID
		}
		if rest, ok := strings.CutPrefix(id, BlockDigestTask); ok {
			if n, err := parseDigits(rest); err == nil && n > 0 {
				ids = append(ids, n)
			}
		} else if rest, ok := strings.CutPrefix(id, BlockDigestMore); ok {
			if n, err := parseDigits(rest); err == nil && n < 1<<20 {
				more = int(n)
			}
		}
	}
	return ids, more
}
