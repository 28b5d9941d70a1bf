package blocks

import (
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func TestDelegateModal(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	window := &workflow.Delegation{Email: mgr, Delegate: deputy,
		Starts: time.Date(2025, 3, 16, 23, 0, 0, 0, time.UTC), Ends: time.Date(2025, 3, 21, 23, 0, 0, 0, time.UTC)}
	for _, tc := range []struct {
		name  string
		in    DelegateModalInput
		mode  string
		start string
		end   string
		user  string
		has   []string
		off   bool
	}{
		{name: "none", in: DelegateModalInput{Loc: paris, Now: now, Dir: dir}, mode: DelegatePermanent, start: "2025-03-10",
			has: []string{"You have no delegate", "(Europe/Paris)"}},
		{name: "permanent", in: DelegateModalInput{Current: &workflow.Delegation{Email: mgr, Delegate: deputy}, DelegateID: "U0DEPUTY", Loc: time.UTC, Now: now, Dir: dir},
			mode: DelegatePermanent, start: "2025-03-10", user: "U0DEPUTY", off: true,
			has: []string{"Your delegate is <@U0DEPUTY>", "permanently, until removed", "No delegate"}},
		{name: "window", in: DelegateModalInput{Current: window, DelegateID: "U0DEPUTY", Loc: paris, Now: now, Dir: dir},
			mode: DelegateTemporary, start: "2025-03-17", end: "2025-03-21", user: "U0DEPUTY", off: true,
			has: []string{"from Mon 17 Mar 2025 to Fri 21 Mar 2025 (Europe/Paris)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := DelegateModal(tc.in)
			golden(t, "modal_delegate_"+tc.name, m)
			checkLimits(t, tc.name, m, surfaceModal)
			assert.Equal(t, CbDelegate, m.CallbackID)
			inputs := map[string]*slack.InputBlock{}
			for _, b := range m.Blocks.BlockSet {
				if in, ok := b.(*slack.InputBlock); ok {
					inputs[in.BlockID] = in
				}
			}
			require.Len(t, inputs, 4)
			radio := inputs[BlockDelegateMode].Element.(*slack.RadioButtonsBlockElement)
			require.NotNil(t, radio.InitialOption)
			assert.Equal(t, tc.mode, radio.InitialOption.Value)
			assert.Equal(t, tc.off, len(radio.Options) == 3, "No delegate is offered only when there is one")
			assert.Equal(t, tc.user, inputs[BlockDelegateTo].Element.(*slack.SelectBlockElement).InitialUser)
			assert.Equal(t, tc.start, inputs[BlockDelegateStart].Element.(*slack.DatePickerBlockElement).InitialDate)
			assert.Equal(t, tc.end, inputs[BlockDelegateEnd].Element.(*slack.DatePickerBlockElement).InitialDate)
			raw := string(render(t, m))
			for _, s := range tc.has {
				assert.Contains(t, raw, s)
			}
		})
	}
}
