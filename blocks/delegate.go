package blocks

import (
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// CbDelegate is the callback id of DelegateModal.
const CbDelegate = "delegate"

// Block and action ids of DelegateModal's inputs. A view_submission carries
// state.values[Block…][Action…]: the mode's selected_option.value (one of
// the Delegate… modes), the selected_user, and each selected_date
// (YYYY-MM-DD, or null).
const (
	BlockDelegateMode   = "delegate_mode"
	ActionDelegateMode  = "delegate_mode"
	BlockDelegateTo     = "delegate_to"
	ActionDelegateTo    = "delegate_to"
	BlockDelegateStart  = "delegate_start"
	ActionDelegateStart = "delegate_start"
	BlockDelegateEnd    = "delegate_end"
	ActionDelegateEnd   = "delegate_end"
)

// Values of the mode radio buttons.
const (
	DelegatePermanent = "permanent"
	DelegateTemporary = "temporary"
	DelegateOff       = "off"
)

// DelegateModalInput is what DelegateModal shows.
type DelegateModalInput struct {
	Current    *workflow.Delegation // nil when the person has no delegate
	DelegateID string               // the current delegate's Slack id, to preselect; "" when unknown
	Loc        *time.Location       // the person's zone
	Now        time.Time
	Dir        Directory
}

// DelegateModal edits the viewer's own delegation: permanent or temporary
// (start and end days, inclusive, in their zone), or off, and to whom.
// The person picker and the dates are optional in Slack's sense: which are
// needed depends on the mode, so the bot checks them on submission and
// answers with field errors.
func DelegateModal(in DelegateModalInput) slack.ModalViewRequest {
	loc := in.Loc
	if loc == nil {
		loc = time.UTC
	}
	w := words{dir: in.Dir, now: in.Now}
	status := "You have no delegate: new access tasks assigned to you come to you."
	mode := DelegatePermanent
	var start, end string
	if d := in.Current; d != nil {
		status = fmt.Sprintf("Your delegate is %s: new access tasks assigned to you go to them %s.", w.who(d.Delegate), workflow.DescribeDelegation(d, loc, in.Now))
		if !d.Ends.IsZero() {
			mode = DelegateTemporary
			end = d.Ends.Add(-time.Nanosecond).In(loc).Format(workflow.DayLayout)
			if !d.Starts.IsZero() {
				start = d.Starts.In(loc).Format(workflow.DayLayout)
			}
		}
	}
	if start == "" {
		start = in.Now.In(loc).Format(workflow.DayLayout)
	}

	opts := []*slack.OptionBlockObject{
		slack.NewOptionBlockObject(DelegatePermanent, plain("Permanent", maxOptionText), plain("Until you change or remove it", maxOptionText)),
		slack.NewOptionBlockObject(DelegateTemporary, plain("Temporary", maxOptionText), plain("From the start date to the end date below", maxOptionText)),
	}
	if in.Current != nil {
		opts = append(opts, slack.NewOptionBlockObject(DelegateOff, plain("No delegate", maxOptionText), plain("Remove your delegation", maxOptionText)))
	}
	radio := slack.NewRadioButtonsBlockElement(ActionDelegateMode, opts...)
	for _, o := range opts {
		if o.Value == mode {
			radio.InitialOption = o
		}
	}

	to := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plain("Choose a colleague", maxPlaceholder), ActionDelegateTo)
	if in.DelegateID != "" {
		to.InitialUser = in.DelegateID
	}
	toBlock := slack.NewInputBlock(BlockDelegateTo, plain("Delegate to", maxLabel), plain("Their new tasks come to this person instead of you.", maxHint), to)
	toBlock.Optional = true

	startPicker := slack.NewDatePickerBlockElement(ActionDelegateStart)
	startPicker.InitialDate = start
	startBlock := slack.NewInputBlock(BlockDelegateStart, plain("First day (temporary only)", maxLabel), plain("Today or later.", maxHint), startPicker)
	startBlock.Optional = true

	endPicker := slack.NewDatePickerBlockElement(ActionDelegateEnd)
	endPicker.InitialDate = end
	endPicker.Placeholder = plain("Choose the last day", maxPlaceholder)
	endBlock := slack.NewInputBlock(BlockDelegateEnd, plain("Last day (temporary only)", maxLabel), plain("Included: the delegation ends at midnight after it.", maxHint), endPicker)
	endBlock.Optional = true

	modeBlock := slack.NewInputBlock(BlockDelegateMode, plain("Delegation", maxLabel), nil, radio)
	bs := []slack.Block{
		section(status),
		modeBlock,
		toBlock,
		startBlock,
		endBlock,
		contextBlock(fmt.Sprintf("Days are in your Slack time zone (%s). Tasks already assigned to you are not moved. Steps that do not allow delegation stay with you.", escape(loc.String()))),
	}
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		Title:      plain("Delegate tasks", maxViewTitle),
		Close:      plain("Cancel", maxViewTitle),
		Submit:     plain("Save", maxViewTitle),
		Blocks:     slack.Blocks{BlockSet: fitBlocks(bs, maxViewBlocks)},
		CallbackID: CbDelegate,
	}
}
