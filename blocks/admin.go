package blocks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// Ids of the admin surface: the admin menu of the Details modal, the
// confirmation modal of destructive operations, and the Process now button
// of `/access stuck`.
const (
	// ActAdminMenu is the admin menu (a static select: Slack's overflow
	// holds at most five options) in the Details modal. Option values are
	// EncodeOption(op, task, revision) with op an AdminOp or AdminRemind.
	ActAdminMenu = "admin_menu"
	// AdminRemind is the admin menu's "Send reminder" option.
	AdminRemind = "remind"
	// ActAdminProcessNow is the Process now button of a stuck-task line;
	// its value is EncodeRef(task, revision).
	ActAdminProcessNow = "admin_process_now"

	CbAdminConfirm    = "admin_confirm"
	CbAdminDone       = "admin_done" // the result shown after a confirmation
	BlockAdminReason  = "admin_reason"
	ActionAdminReason = "admin_reason"
	BlockAdminPolicy  = "admin_policy"
	ActionAdminPolicy = "admin_policy"
)

// maxStuckListed bounds the stuck tasks one message lists (50 blocks).
const maxStuckListed = 40

// AdminMeta is the confirmation modal's private_metadata: what was asked,
// on which revision, and where to answer (the slash command's
// response_url, or the Details view to refresh).
type AdminMeta struct {
	TaskID      int64            `json:"task"`
	Revision    int64            `json:"rev"`
	Op          workflow.AdminOp `json:"op"`
	Policy      string           `json:"policy,omitempty"`
	ResponseURL string           `json:"url,omitempty"`
	DetailsView string           `json:"details,omitempty"`
}

// EncodeAdminMeta writes m for private_metadata, within Slack's limit.
func EncodeAdminMeta(m AdminMeta) string {
	m.Policy = cutBytes(m.Policy, maxMetaField)
	m.ResponseURL = cutBytes(m.ResponseURL, 1000)
	m.DetailsView = cutBytes(m.DetailsView, maxMetaField)
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("blocks: marshal admin metadata: %v", err))
	}
	return string(b)
}

// DecodeAdminMeta reads EncodeAdminMeta's JSON; it rejects anything that
// does not name a task and a destructive operation.
func DecodeAdminMeta(s string) (AdminMeta, error) {
	var m AdminMeta
	if len(s) > maxPrivateMetadata {
		return m, errors.New("admin metadata is too long")
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return AdminMeta{}, fmt.Errorf("admin metadata: %w", err)
	}
	if m.TaskID <= 0 || m.Revision < 0 || !m.Op.Destructive() {
		return AdminMeta{}, fmt.Errorf("admin metadata names task %d and operation %q", m.TaskID, m.Op)
	}
	return m, nil
}

// DecodeAdminOption reads an admin menu option: an AdminOp or AdminRemind.
func DecodeAdminOption(v string) (op string, taskID, revision int64, err error) {
	op, ref, ok := strings.Cut(v, "|")
	if !ok {
		return "", 0, 0, fmt.Errorf("admin option %q: want OPERATION|TASK:REVISION", truncate(v, 60))
	}
	known := op == AdminRemind
	for _, o := range workflow.AdminOps() {
		known = known || string(o) == op
	}
	if !known {
		return "", 0, 0, fmt.Errorf("admin option %q is not one accessbot offers", truncate(op, 60))
	}
	taskID, revision, err = DecodeRef(ref)
	return op, taskID, revision, err
}

// AdminOpTitle names an operation on a button or a menu.
func AdminOpTitle(op workflow.AdminOp) string {
	switch op {
	case workflow.OpProcessNow:
		return "Process now"
	case workflow.OpCancel:
		return "Cancel task"
	case workflow.OpDelete:
		return "Delete"
	case workflow.OpRestart:
		return "Restart"
	case workflow.OpHardReset:
		return "Hard reset"
	case workflow.OpChangePolicy:
		return "Change policy"
	case workflow.OpSkipStep:
		return "Skip step"
	}
	return string(op)
}

// adminMenu is the Details modal's admin menu: the operations that make
// sense for the task's state (the engine refuses the others anyway).
func adminMenu(t *workflow.Task) slack.Block {
	var opts []*slack.OptionBlockObject
	add := func(label, value string) {
		opts = append(opts, option(label, EncodeOption(value, t.ID, t.Revision)))
	}
	open := !t.Status.Closed()
	for _, op := range workflow.AdminOps() {
		switch {
		case (op == workflow.OpCancel || op == workflow.OpSkipStep) && !open:
			continue
		case (op == workflow.OpRestart || op == workflow.OpHardReset || op == workflow.OpChangePolicy) && t.Status == workflow.StatusDone:
			continue
		case op == workflow.OpChangePolicy && t.Kind != workflow.KindRevoke:
			continue
		}
		label := AdminOpTitle(op)
		if op.Destructive() {
			label += "…"
		}
		add(label, string(op))
		if op == workflow.OpProcessNow && t.Status == workflow.StatusOpen {
			add("Send reminder", AdminRemind)
		}
	}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Admin actions", maxPlaceholder), ActAdminMenu, opts...)
	return actions(sel)
}

// AdminConfirmInput is what a confirmation says.
type AdminConfirmInput struct {
	Op     workflow.AdminOp
	Task   *workflow.Task // as it is
	After  *workflow.Task // as the operation would leave it (PreviewAdmin); nil for a delete or an unchosen policy
	Ent    workflow.Entitlement
	Events int // audit events of the task (what a delete removes)
	// Policies to choose from, for a change of policy whose policy is not
	// chosen yet (Meta.Policy empty).
	Policies []string
	Reason   string
	Dir      Directory
	Meta     AdminMeta
}

// AdminConfirmModal asks an admin to confirm a destructive operation,
// naming exactly what it will do. Only its submission applies it; closing
// it changes nothing. On submission: state.values[BlockAdminReason]
// [ActionAdminReason].value and, when offered, [BlockAdminPolicy]
// [ActionAdminPolicy].selected_option.value.
func AdminConfirmModal(in AdminConfirmInput) slack.ModalViewRequest {
	t := in.Task
	w := words{dir: in.Dir}
	bs := []slack.Block{
		section(":warning: *What will happen*\n" + adminConsequence(w, in)),
		section(summary(w, t, in.Ent, bold)),
		contextBlock("Now: " + headline(w, t)),
	}
	if in.Op == workflow.OpChangePolicy && in.Meta.Policy == "" {
		var opts []*slack.OptionBlockObject
		for _, p := range in.Policies {
			opts = append(opts, option(p, p))
		}
		if len(opts) > 0 {
			sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Choose a policy", maxPlaceholder), ActionAdminPolicy, opts...)
			bs = append(bs, slack.NewInputBlock(BlockAdminPolicy, plain("New policy", maxLabel), nil, sel))
		}
	}
	reason := textInput(BlockAdminReason, ActionAdminReason, "Reason (kept in the audit log)", "Why", "", in.Reason, true, 1000)
	reason.Optional = true
	bs = append(bs, reason)
	title := truncate(AdminOpTitle(in.Op)+" "+t.Number()+"?", maxViewTitle)
	m := modal(CbAdminConfirm, title, AdminOpTitle(in.Op), "Cancel", ModalMeta{}, bs)
	m.PrivateMetadata = EncodeAdminMeta(in.Meta)
	return m
}

// AdminResultModal says what an admin operation did (or why it was
// refused) where there is no message to answer in: after a confirmation,
// or on an operation picked in the Details modal.
func AdminResultModal(taskID int64, title, text string) slack.ModalViewRequest {
	return modal(CbAdminDone, title, "", "Close", ModalMeta{TaskID: taskID}, []slack.Block{section(text)})
}

// adminConsequence says what a destructive operation will do to the task.
func adminConsequence(w words, in AdminConfirmInput) string {
	t, after := in.Task, in.After
	n := "*" + t.Number() + "*"
	switch in.Op {
	case workflow.OpDelete:
		return fmt.Sprintf("%s will be *deleted*: it disappears from every list, its cards say it was deleted, and its own audit history (%d events) is removed. "+
			"The admin audit log keeps who deleted it, when, and the last hash of its history. This cannot be undone.", n, in.Events)
	case workflow.OpHardReset:
		s := fmt.Sprintf("%s starts again at step 1 with its policy *as configured now*%s. Its progress under its own copy of _%s_ is discarded; its history is kept.",
			n, policyWords(after), inline(t.Policy.Name))
		return s + nextWords(w, after)
	case workflow.OpChangePolicy:
		if after == nil {
			return fmt.Sprintf("%s starts again at step 1 with the policy you choose below instead of _%s_. Its progress is discarded; its history is kept.", n, inline(t.Policy.Name))
		}
		return fmt.Sprintf("%s starts again at step 1 with policy%s instead of _%s_. Its progress is discarded; its history is kept.",
			n, policyWords(after), inline(t.Policy.Name)) + nextWords(w, after)
	case workflow.OpSkipStep:
		s := fmt.Sprintf("Step %d (%s) of %s", t.Step+1, stepName(t.Kind, stepTypeOf(t, t.Step)), n)
		if p := t.PendingAssignees(); len(p) > 0 {
			s += ", waiting on " + w.list(p) + ","
		}
		s += " is treated as done without anyone acting on it."
		if after != nil && after.Status == workflow.StatusDone {
			return s + " It is the last step, so the task completes: " + headline(w, after)
		}
		return s + nextWords(w, after)
	}
	return ""
}

// policyWords is " _std_ (review → provisioning)".
func policyWords(t *workflow.Task) string {
	if t == nil {
		return ""
	}
	steps := make([]string, len(t.Policy.Steps))
	for i, s := range t.Policy.Steps {
		steps[i] = stepName(t.Kind, s.Type)
	}
	return fmt.Sprintf(" _%s_ (%s)", inline(t.Policy.Name), strings.Join(steps, " → "))
}

// nextWords says where the task will be afterwards.
func nextWords(w words, after *workflow.Task) string {
	if after == nil {
		return ""
	}
	return "\nAfterwards: " + headline(w, after)
}

// AdminOutcome says what an operation did, for the admin who ran it.
func AdminOutcome(dir Directory, op workflow.AdminOp, t *workflow.Task) string {
	w := words{dir: dir}
	n := "*" + t.Number() + "*"
	switch op {
	case workflow.OpDelete:
		return n + " was deleted. Its cards now say so; the admin audit log records it."
	case workflow.OpProcessNow:
		return n + " was processed again and its cards are being re-sent. Now: " + headline(w, t)
	case workflow.OpCancel:
		return n + " was canceled; its cards are being updated."
	case workflow.OpRestart:
		return n + " was restarted with its own policy" + policyWords(t) + ". Now: " + headline(w, t)
	case workflow.OpHardReset:
		return n + " was hard reset to the policy as configured now" + policyWords(t) + ". Now: " + headline(w, t)
	case workflow.OpChangePolicy:
		return n + " now runs policy" + policyWords(t) + ". Now: " + headline(w, t)
	case workflow.OpSkipStep:
		return n + ": the step was skipped. Now: " + headline(w, t)
	}
	return n + ": " + headline(w, t)
}

// StuckMessage lists tasks that need an admin, each with a Process now
// button. total is how many there are in all.
func StuckMessage(items []workflow.StuckTask, total int, ents func(*workflow.Task) workflow.Entitlement, dir Directory) (string, []slack.Block) {
	w := words{dir: dir}
	if len(items) == 0 {
		text := ":white_check_mark: No task is stuck: none stopped with an error and none waits past escalation."
		return text, []slack.Block{section(text)}
	}
	text := fmt.Sprintf("%d tasks need an admin", total)
	if total == 1 {
		text = "1 task needs an admin"
	}
	bs := []slack.Block{section(":rotating_light: *" + text + "* (stopped with an error, or waiting past escalation)")}
	for i, s := range items {
		if i == maxStuckListed {
			break
		}
		t := s.Task
		line := fmt.Sprintf("*%s* · %s\n:warning: %s", t.Number(), summary(w, t, ents(t), asIs), truncate(inline(s.Reason), 1500))
		sec := section(line)
		sec.Accessory = slack.NewAccessory(button(ActAdminProcessNow, "Process now", EncodeRef(t.ID, t.Revision), slack.StylePrimary))
		bs = append(bs, sec)
	}
	if more := total - min(len(items), maxStuckListed); more > 0 {
		bs = append(bs, contextBlock(fmt.Sprintf("%s and %d more; process these first, then run `/access stuck` again.", ellipsis, more)))
	}
	return text, bs
}
