package blocks

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// modal assembles a modal within Slack's limits. An empty submit leaves the
// modal without a submit button (it must then hold no input).
func modal(callbackID, title, submit, closeText string, meta ModalMeta, bs []slack.Block) slack.ModalViewRequest {
	m := slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           plain(title, maxViewTitle),
		Close:           plain(closeText, maxViewTitle),
		Blocks:          slack.Blocks{BlockSet: fitBlocks(bs, maxViewBlocks)},
		PrivateMetadata: EncodeMeta(meta),
		CallbackID:      callbackID,
	}
	if submit != "" {
		m.Submit = plain(submit, maxViewTitle)
	}
	return m
}

// withDefaults fills what the caller left out of a modal's metadata from
// the task it shows.
func withDefaults(meta ModalMeta, t *workflow.Task, action string) ModalMeta {
	if meta.TaskID == 0 {
		meta.TaskID = t.ID
	}
	if meta.Revision == 0 {
		meta.Revision = t.Revision
	}
	if meta.Action == "" {
		meta.Action = action
	}
	return meta
}

// modalTitle is "<verb> T-12", cut to a modal title's 24 characters.
func modalTitle(verb string, t *workflow.Task) string {
	return truncate(verb+" "+t.Number(), maxViewTitle)
}

// about is the section at the top of a modal: which task it acts on, its
// people named by mention where dir knows them.
func about(dir Directory, t *workflow.Task, ent workflow.Entitlement, lead string) slack.Block {
	s := summary(words{dir: dir}, t, ent, bold)
	if lead != "" {
		s = lead + "\n" + s
	}
	return section(s)
}

// textInput is a required plain-text input block.
func textInput(blockID, actionID, label, placeholder, hint, initial string, multiline bool, maxLen int) *slack.InputBlock {
	el := slack.NewPlainTextInputBlockElement(nil, actionID)
	if placeholder != "" {
		el.Placeholder = plain(placeholder, maxPlaceholder)
	}
	el.Multiline = multiline
	el.MaxLength = min(maxLen, maxInputLength)
	el.InitialValue = truncateRunes(initial, el.MaxLength)
	var h *slack.TextBlockObject
	if strings.TrimSpace(hint) != "" {
		h = plain(hint, maxHint)
	}
	return slack.NewInputBlock(blockID, plain(label, maxLabel), h, el)
}

// ReassignModal asks an assignee to whom, and why, they hand their part of
// the current step. allowedHint says who may take it ("" when anyone may).
// On submission: state.values[BlockReassignTo][ActionReassignTo].selected_user
// and state.values[BlockReason][ActionReason].value.
func ReassignModal(dir Directory, task *workflow.Task, ent workflow.Entitlement, meta ModalMeta, allowedHint string) slack.ModalViewRequest {
	t := task
	lead := fmt.Sprintf("Hand your part of *%s* to someone else.", t.Number())
	if typ := stepTypeOf(t, t.Step); typ != "" {
		lead = fmt.Sprintf("Hand your part of step %d of %d (%s) of *%s* to someone else.", t.Step+1, len(t.Policy.Steps), stepName(t.Kind, typ), t.Number())
	}
	to := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plain("Choose a person", maxPlaceholder), ActionReassignTo)
	var hint *slack.TextBlockObject
	if h := strings.TrimSpace(allowedHint); h != "" {
		hint = plain(h, maxHint)
	}
	bs := []slack.Block{
		about(dir, t, ent, lead),
		slack.NewInputBlock(BlockReassignTo, plain("Reassign to", maxLabel), hint, to),
		textInput(BlockReason, ActionReason, "Reason", "Why are you handing it over?",
			"The new assignee sees it, and it is kept in the task's history.", "", true, workflow.MaxTextLen),
	}
	return modal(CbReassign, modalTitle("Reassign", t), "Reassign", "Cancel", withDefaults(meta, t, ActReassign), bs)
}

// EditDurationModal lets a reviewer change how long the access lasts. On
// submission: state.values[BlockDuration][ActionDuration].value, to be read
// with workflow.ParseDuration.
func EditDurationModal(dir Directory, task *workflow.Task, ent workflow.Entitlement, meta ModalMeta) slack.ModalViewRequest {
	t := task
	label := entLabel(t, ent)
	hint := "Like 30m, 8h, 2d or 1w, or permanent. " + label + " has no maximum."
	if ent.MaxDuration > 0 {
		hint = "Like 30m, 8h, 2d or 1w. The maximum for " + label + " is " + workflow.FormatDuration(ent.MaxDuration) + "."
	}
	initial := ""
	if t.Duration > 0 || t.Duration == workflow.Permanent {
		initial = workflow.FormatDuration(t.Duration)
	}
	lead := fmt.Sprintf("How long should the access of *%s* last? It asks for *%s*.", t.Number(), workflow.FormatDuration(t.Duration))
	if limit, by := workflow.ApprovedDuration(t); by != "" {
		lead += fmt.Sprintf(" %s approved it for *%s*: lowering the duration keeps the approvals; raising it past %s is refused.", words{dir: dir}.who(by), workflow.FormatDuration(limit), workflow.FormatDuration(limit))
	}
	bs := []slack.Block{
		about(dir, t, ent, lead),
		textInput(BlockDuration, ActionDuration, "Duration", "8h", hint, initial, false, 20),
	}
	return modal(CbEditDuration, modalTitle("Duration of", t), "Save", "Cancel", withDefaults(meta, t, OptEditDuration), bs)
}

// EmergencyModal lets the requester of an open request declare it an
// emergency. On submission: state.values[BlockReason][ActionReason].value.
func EmergencyModal(dir Directory, task *workflow.Task, ent workflow.Entitlement, meta ModalMeta) slack.ModalViewRequest {
	t := task
	lead := fmt.Sprintf("Declare *%s* an emergency? It starts again under the emergency policy _%s_, its access lasts at most *%s*, and the admins are told at once. Your reason is recorded.",
		t.Number(), inline(ent.EmergencyPolicy), workflow.FormatDuration(ent.EmergencyCap()))
	bs := []slack.Block{
		about(dir, t, ent, lead),
		textInput(BlockReason, ActionReason, "Why is it an emergency?", "What is down, and why it cannot wait",
			"Everyone on the task and the admins see it.", "", true, workflow.MaxTextLen),
	}
	return modal(CbEmergency, modalTitle("Emergency:", t), "Declare", "Cancel", withDefaults(meta, t, ActDeclareEmergency), bs)
}

// CommentModal adds a comment to a task. On submission:
// state.values[BlockComment][ActionComment].value.
func CommentModal(dir Directory, task *workflow.Task, meta ModalMeta) slack.ModalViewRequest {
	t := task
	bs := []slack.Block{
		about(dir, t, workflow.Entitlement{}, fmt.Sprintf("Comment on *%s*.", t.Number())),
		textInput(BlockComment, ActionComment, "Comment", "What should everyone on this task know?",
			"Everyone on the task sees it, in its history and its Slack threads.", "", true, workflow.MaxTextLen),
	}
	return modal(CbComment, modalTitle("Comment on", t), "Comment", "Cancel", withDefaults(meta, t, OptComment), bs)
}

// decision describes a "… with comment" modal.
type decision struct {
	title, submit, verb, label string
}

var decisions = map[workflow.Action]decision{
	workflow.ActionApprove:         {"Approve with comment", "Approve", "approve", "Comment"},
	workflow.ActionDeny:            {"Deny with comment", "Deny", "deny", "Reason"},
	workflow.ActionConfirm:         {"Confirm with comment", "Confirm", "confirm the revocation in", "Comment"},
	workflow.ActionProvisioned:     {"Mark provisioned", "Provisioned", "mark as provisioned", "Comment"},
	workflow.ActionWontProvision:   {"Won't provision", "Won't provision", "decline to provision", "Reason"},
	workflow.ActionDeprovisioned:   {"Mark deprovisioned", "Deprovisioned", "mark as deprovisioned", "Comment"},
	workflow.ActionWontDeprovision: {"Won't deprovision", "Won't deprovision", "decline to deprovision", "Reason"},
}

// DecisionModal asks for the comment of a decision ("Approve with comment",
// "Won't provision", …). action is a workflow.Action, a decision button's
// action ID or a "… with comment" option (OptApproveComment, …). The
// comment is required: the person chose to give one. The metadata's Action
// is set to the workflow.Action to decide. On submission:
// state.values[BlockComment][ActionComment].value.
func DecisionModal(dir Directory, task *workflow.Task, action string, meta ModalMeta) slack.ModalViewRequest {
	t := task
	act := workflow.Action(action)
	if a, ok := CommentOptionAction(action); ok {
		act = a
	}
	d, ok := decisions[act]
	if !ok {
		d = decision{title: modalTitle("Decide on", t), submit: "Submit", verb: escape(action), label: "Comment"}
	}
	meta = withDefaults(meta, t, string(act))
	meta.Action = string(act)
	bs := []slack.Block{
		about(dir, t, workflow.Entitlement{}, fmt.Sprintf("You are about to *%s* *%s*.", d.verb, t.Number())),
		textInput(BlockComment, ActionComment, d.label, "Say why in a sentence.",
			"Everyone on the task sees it, and it is kept in the task's history.", "", true, workflow.MaxTextLen),
	}
	return modal(CbDecision, d.title, d.submit, "Cancel", meta, bs)
}
