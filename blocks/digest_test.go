package blocks

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func digestCatalog() *workflow.Catalog {
	return &workflow.Catalog{Apps: []*workflow.App{github().App}}
}

// digestButtons returns, per actions block, the action IDs and values.
func digestButtons(bs []slack.Block) map[string][]string {
	out := map[string][]string{}
	for _, b := range bs {
		a, ok := b.(*slack.ActionBlock)
		if !ok {
			continue
		}
		for _, el := range a.Elements.ElementSet {
			btn := el.(*slack.ButtonBlockElement)
			out[a.BlockID] = append(out[a.BlockID], btn.ActionID+"="+btn.Value)
		}
	}
	return out
}

func TestDigest(t *testing.T) {
	t.Parallel()
	decided := denied()
	decided.ID = 13
	provisioning := atProvisioning()
	provisioning.ID = 20
	cases := []struct {
		name    string
		in      DigestInput
		buttons map[string][]string
		has     []string
	}{
		{
			name: "reviewer",
			in:   DigestInput{Viewer: mgr, Tasks: []*workflow.Task{grantTask(), revokeTask(), decided}, Cat: digestCatalog(), Dir: dir, Now: now},
			buttons: map[string][]string{
				"digest_actions_12": {"approve=12:3", "deny=12:3"},
				"digest_actions_30": {"confirm=30:2", "deny=30:2"},
			},
			has: []string{"2 tasks wait on you", "*T-12* · Access request", "*T-30* · Revocation", "*T-13*", "Waiting on you for", "*Denied*", "Reminder: 2 tasks wait on you: T-12, T-30."},
		},
		{
			name: "provisioner",
			in:   DigestInput{Viewer: prov1, Tasks: []*workflow.Task{provisioning, expiryTask()}, Cat: digestCatalog(), Dir: dir, Now: now},
			buttons: map[string][]string{
				"digest_actions_20": {"provisioned=20:7", "wont_provision=20:7"},
				"digest_actions_41": {"deprovisioned=41:1", "wont_deprovision=41:1"},
			},
			has: []string{"2 tasks wait on you", "Waiting on you for 1h", "Waiting on you for 20m"},
		},
		{
			name:    "nothing left",
			in:      DigestInput{Viewer: mgr, Tasks: []*workflow.Task{decided, nil}, Dir: dir, Now: now},
			buttons: map[string][]string{},
			has:     []string{"Nothing waits on you any more", "github"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			text, bs := Digest(tc.in)
			msg := message{Text: text, Blocks: bs}
			golden(t, "digest_"+strings.ReplaceAll(tc.name, " ", "_"), msg)
			checkLimits(t, tc.name, msg, surfaceMessage)
			assert.Equal(t, tc.buttons, digestButtons(bs))
			js := string(render(t, msg))
			for _, s := range tc.has {
				assert.Contains(t, js, s)
			}
		})
	}
}

// TestDigestOverflow lists more tasks than one message holds: the first
// fit with their buttons and a last line counts the rest.
func TestDigestOverflow(t *testing.T) {
	t.Parallel()
	for _, n := range []int{maxDigestTasks - 1, maxDigestTasks, maxDigestTasks + 1, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var tasks []*workflow.Task
			for i := range n {
				task := grantTask()
				task.ID = int64(100 + i)
				task.Justification = long(3000)
				tasks = append(tasks, task)
			}
			text, bs := Digest(DigestInput{Viewer: mgr, Tasks: tasks, Cat: digestCatalog(), Dir: dir, Now: now})
			checkLimits(t, "digest", message{Text: text, Blocks: bs}, surfaceMessage)
			assert.LessOrEqual(t, len(bs), maxMessageBlocks)
			shown := min(n, maxDigestTasks)
			assert.Len(t, digestButtons(bs), shown, "every listed task has its buttons")
			last := string(render(t, bs[len(bs)-1]))
			if n > shown {
				assert.Contains(t, last, fmt.Sprintf("and %d more — see your App Home", n-shown))
			} else {
				assert.NotContains(t, last, "more — see your App Home")
			}
			assert.Contains(t, text, fmt.Sprintf("%d tasks wait on you", n))
		})
	}
}

// TestDigestListedRoundTrip reads the listed tasks back from a digest as
// Slack returns it in a block_actions payload, and renders it again.
func TestDigestListedRoundTrip(t *testing.T) {
	t.Parallel()
	decided := denied()
	decided.ID = 13
	in := DigestInput{Viewer: mgr, Tasks: []*workflow.Task{grantTask(), revokeTask(), decided}, More: 4, Now: now}
	_, bs := Digest(in)
	b, err := json.Marshal(slack.Blocks{BlockSet: bs})
	require.NoError(t, err)
	var back slack.Blocks
	require.NoError(t, json.Unmarshal(b, &back))
	ids, more := DigestListed(back.BlockSet)
	assert.Equal(t, []int64{12, 30, 13}, ids)
	assert.Equal(t, 4, more)
	text, again := Digest(DigestInput{Viewer: mgr, Tasks: in.Tasks, More: more, Now: now})
	assert.Equal(t, bs, again)
	assert.Contains(t, text, "6 tasks wait on you")

	ids, more = DigestListed([]slack.Block{section("x"), &slack.SectionBlock{Type: slack.MBTSection, BlockID: "digest_task_x1"},
		&slack.ContextBlock{Type: slack.MBTContext, BlockID: "digest_more_-1"}})
	assert.Empty(t, ids)
	assert.Zero(t, more)
}
