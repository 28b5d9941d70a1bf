package blocks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"accessbot/workflow"
)

// Action IDs of the interactive elements on cards. The bot routes block
// actions on them.
const (
	ActApprove         = "approve"
	ActDeny            = "deny"
	ActConfirm         = "confirm"
	ActProvisioned     = "provisioned"
	ActWontProvision   = "wont_provision"
	ActDeprovisioned   = "deprovisioned"
	ActWontDeprovision = "wont_deprovision"
	ActReassign        = "reassign" // opens ReassignModal
	ActMore            = "more"     // the overflow menu; its option values are EncodeOption(Opt…)
	ActDetails         = "details"  // the task-number button; opens DetailsModal
	// ActDeclareEmergency is the requester card's button that opens
	// EmergencyModal (only where the access has an emergency policy).
	ActDeclareEmergency = "declare_emergency"

	// ActDelegateEdit is the App Home's Delegate tasks "Edit" button; it
	// opens the delegation modal.
	ActDelegateEdit = "delegate_edit"
)

// Options of the overflow menu (ActMore). The selected option's value is
// EncodeOption(opt, taskID, revision).
const (
	OptApproveComment         = "approve_comment"
	OptDenyComment            = "deny_comment"
	OptConfirmComment         = "confirm_comment"
	OptProvisionedComment     = "provisioned_comment"
	OptWontProvisionComment   = "wont_provision_comment"
	OptDeprovisionedComment   = "deprovisioned_comment"
	OptWontDeprovisionComment = "wont_deprovision_comment"
	OptEditDuration           = "edit_duration" // opens EditDurationModal
	OptComment                = "comment"       // opens CommentModal
	OptDetails                = "details"       // opens DetailsModal
	OptRemind                 = "remind"        // sends a reminder at once
)

// Callback IDs of the modals.
const (
	CbReassign     = "reassign"
	CbEditDuration = "edit_duration"
	CbComment      = "comment"
	CbDecision     = "decision" // a decision with a comment
	CbDetails      = "details"
	CbEmergency    = "emergency" // the requester declares an emergency
)

// Block IDs and action IDs of the modals' inputs. A view_submission carries
// state.values[Block…][Action…].
const (
	BlockReassignTo  = "reassign_to" // users_select
	ActionReassignTo = "reassign_to"
	BlockReason      = "reason" // reassign reason, multiline
	ActionReason     = "reason"
	BlockDuration    = "duration" // plain_text_input, e.g. "8h"
	ActionDuration   = "duration"
	BlockComment     = "comment" // comment, and the comment (or reason) of a decision
	ActionComment    = "comment"
)

// buttonActions maps decision buttons to the workflow actions they ask for.
var buttonActions = map[string]workflow.Action{
	ActApprove:         workflow.ActionApprove,
	ActDeny:            workflow.ActionDeny,
	ActConfirm:         workflow.ActionConfirm,
	ActProvisioned:     workflow.ActionProvisioned,
	ActWontProvision:   workflow.ActionWontProvision,
	ActDeprovisioned:   workflow.ActionDeprovisioned,
	ActWontDeprovision: workflow.ActionWontDeprovision,
}

// commentOptions maps the "… with comment" overflow options to the workflow
// actions they decide once the comment is given (DecisionModal).
var commentOptions = map[string]workflow.Action{
	OptApproveComment:         workflow.ActionApprove,
	OptDenyComment:            workflow.ActionDeny,
	OptConfirmComment:         workflow.ActionConfirm,
	OptProvisionedComment:     workflow.ActionProvisioned,
	OptWontProvisionComment:   workflow.ActionWontProvision,
	OptDeprovisionedComment:   workflow.ActionDeprovisioned,
	OptWontDeprovisionComment: workflow.ActionWontDeprovision,
}

var otherOptions = map[string]bool{OptEditDuration: true, OptComment: true, OptDetails: true, OptRemind: true}

// ButtonAction returns the workflow action a decision button (ActApprove, …)
// asks for; false for other action IDs.
func ButtonAction(actionID string) (workflow.Action, bool) {
	a, ok := buttonActions[actionID]
	return a, ok
}

// CommentOptionAction returns the workflow action of a "… with comment"
// overflow option (OptApproveComment, …); false for other options.
func CommentOptionAction(opt string) (workflow.Action, bool) {
	a, ok := commentOptions[opt]
	return a, ok
}

// maxRefLen bounds what DecodeRef reads: two int64s and a colon.
const maxRefLen = 41

// EncodeRef is the value of a card's buttons: the task and the revision the
// card showed, "12:3".
func EncodeRef(taskID, revision int64) string {
	return strconv.FormatInt(taskID, 10) + ":" + strconv.FormatInt(revision, 10)
}

// DecodeRef reads EncodeRef's "12:3". It rejects anything else: signs,
// spaces, a task number or a revision that is not positive (every task has
// revision 1 or later, and a revision of 0 would tell the engine to skip
// the stale-card check).
func DecodeRef(s string) (taskID, revision int64, err error) {
	if len(s) > maxRefLen {
		return 0, 0, fmt.Errorf("task reference is %d bytes long; want TASK:REVISION", len(s))
	}
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("task reference %q: want TASK:REVISION", s)
	}
	taskID, err = parseDigits(a)
	if err != nil || taskID <= 0 {
		return 0, 0, fmt.Errorf("task reference %q: the task number must be a positive whole number", s)
	}
	revision, err = parseDigits(b)
	if err != nil || revision <= 0 {
		return 0, 0, fmt.Errorf("task reference %q: the revision must be a positive whole number", s)
	}
	return taskID, revision, nil
}

// parseDigits parses a base-10 number made of ASCII digits only.
func parseDigits(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a digit")
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// EncodeOption is the value of an overflow option: "approve_comment|12:3".
func EncodeOption(opt string, taskID, revision int64) string {
	return opt + "|" + EncodeRef(taskID, revision)
}

// DecodeOption reads EncodeOption's value. The option must be one of the
// Opt… constants.
func DecodeOption(v string) (opt string, taskID, revision int64, err error) {
	opt, ref, ok := strings.Cut(v, "|")
	if !ok {
		return "", 0, 0, fmt.Errorf("menu option %q: want OPTION|TASK:REVISION", truncate(v, 60))
	}
	if _, isComment := commentOptions[opt]; !isComment && !otherOptions[opt] {
		return "", 0, 0, fmt.Errorf("menu option %q is not one accessbot offers", truncate(opt, 60))
	}
	taskID, revision, err = DecodeRef(ref)
	if err != nil {
		return "", 0, 0, err
	}
	return opt, taskID, revision, nil
}

// ModalMeta is a modal's private_metadata: which task and revision it acts
// on, what it does, and the card it was opened from (so the bot can refresh
// that card after the submission).
type ModalMeta struct {
	TaskID    int64  `json:"task"`
	Revision  int64  `json:"rev"`
	Action    string `json:"action,omitempty"` // a workflow.Action for CbDecision; the Opt… or Act… that opened the modal otherwise
	Channel   string `json:"channel,omitempty"`
	MessageTS string `json:"ts,omitempty"`
}

// maxMetaField bounds each string of ModalMeta, in bytes, so that EncodeMeta
// stays below Slack's 3,000 characters whatever the caller puts in, even
// when JSON escapes every byte (Slack's own ids are a few dozen characters).
const maxMetaField = 200

// EncodeMeta writes m as JSON for private_metadata. Over-long strings are
// cut so the result always fits Slack's 3,000 characters.
func EncodeMeta(m ModalMeta) string {
	m.Action = cutBytes(m.Action, 64)
	m.Channel = cutBytes(m.Channel, maxMetaField)
	m.MessageTS = cutBytes(m.MessageTS, maxMetaField)
	b, err := json.Marshal(m)
	if err != nil {
		// Only ints and strings: cannot fail.
		panic(fmt.Sprintf("blocks: marshal modal metadata: %v", err))
	}
	return string(b)
}

// cutBytes cuts an identifier to at most n bytes, on a rune boundary.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// DecodeMeta reads EncodeMeta's JSON. It rejects empty or malformed
// metadata and a task number that is not positive.
func DecodeMeta(s string) (ModalMeta, error) {
	var m ModalMeta
	if strings.TrimSpace(s) == "" {
		return m, errors.New("modal metadata is empty")
	}
	if len(s) > maxPrivateMetadata {
		return m, fmt.Errorf("modal metadata is %d bytes long; at most %d", len(s), maxPrivateMetadata)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return ModalMeta{}, fmt.Errorf("modal metadata: %w", err)
	}
	if dec.More() {
		return ModalMeta{}, errors.New("modal metadata: trailing data")
	}
	if m.TaskID <= 0 {
		return ModalMeta{}, fmt.Errorf("modal metadata: task number %d is not positive", m.TaskID)
	}
	if m.Revision < 0 {
		return ModalMeta{}, fmt.Errorf("modal metadata: revision %d is negative", m.Revision)
	}
	return m, nil
}
