package fakeslack

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// A person acting in modals and the Home tab.

// visibleViewLocked returns a view the user can interact with: their Home tab or
// a modal in their open stack (only the top one is interactive in Slack).
func (s *Server) visibleViewLocked(userID, viewID string) (*User, *viewRec, error) {
	u, err := s.actorLocked(userID)
	if err != nil {
		return nil, nil, err
	}
	rec := s.views[viewID]
	if rec == nil {
		return nil, nil, fmt.Errorf("%w: no view %q", ErrViewClosed, viewID)
	}
	if rec.userID != userID {
		return nil, nil, fmt.Errorf("fakeslack: view %s belongs to %s, not %s", viewID, rec.userID, userID)
	}
	if rec.typ == "modal" {
		st := s.stackOf[userID]
		if len(st) == 0 || st[len(st)-1] != viewID {
			return nil, nil, fmt.Errorf("%w: modal %s is not the one open on top for %s", ErrViewClosed, viewID, userID)
		}
	}
	return u, rec, nil
}

func (s *Server) viewActionsPayloadLocked(u *User, rec *viewRec, actions []any) (map[string]any, Delivery) {
	d := Delivery{TriggerID: s.mintTriggerLocked(u.ID, 0)}
	return map[string]any{
		"type":                  "block_actions",
		"user":                  s.payloadUser(u),
		"api_app_id":            s.opts.AppID,
		"token":                 s.opts.VerificationToken,
		"container":             map[string]any{"type": "view", "view_id": rec.id},
		"trigger_id":            d.TriggerID,
		"team":                  s.teamJSON(),
		"enterprise":            nil,
		"is_enterprise_install": false,
		"view":                  s.viewJSONLocked(rec),
		"actions":               actions,
	}, d
}

// ClickInView presses a button in a modal or Home tab (by action_id, else text).
func (s *Server) ClickInView(ctx context.Context, userID, viewID, action string) (Delivery, error) {
	s.mu.Lock()
	u, rec, err := s.visibleViewLocked(userID, viewID)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	a, ok := findAction(arr(rec.obj["blocks"]), action)
	if !ok || a.Type != "button" {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("fakeslack: no button %q in view %s (has %s)", action, viewID, describe(actionsIn(arr(rec.obj["blocks"]))))
	}
	p, d := s.viewActionsPayloadLocked(u, rec, []any{actionJSON(a, nil)})
	s.mu.Unlock()
	return s.send(ctx, "interactive", p, d)
}

// SelectInView picks values in a non-button element of a modal or Home tab, by
// action_id (or visible text). Elements of input blocks without dispatch_action
// only change the view's state, as in Slack; others send block_actions.
func (s *Server) SelectInView(ctx context.Context, userID, viewID, actionID string, values ...string) (Delivery, error) {
	s.mu.Lock()
	_, rec, err := s.visibleViewLocked(userID, viewID)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	a, ok := findAction(arr(rec.obj["blocks"]), actionID)
	if !ok || a.Type == "button" {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("fakeslack: no selectable element %q in view %s (has %s)", actionID, viewID, describe(actionsIn(arr(rec.obj["blocks"]))))
	}
	return s.setViewValueLocked(ctx, userID, rec, a, values)
}

// SetInput types or picks the value of the input block blockID in a view (see
// Select for value formats). It sends block_actions only if the input has
// dispatch_action.
func (s *Server) SetInput(ctx context.Context, userID, viewID, blockID string, values ...string) (Delivery, error) {
	s.mu.Lock()
	_, rec, err := s.visibleViewLocked(userID, viewID)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	a, ok := inputBlock(rec, blockID)
	if !ok {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("fakeslack: no input block %q in view %s", blockID, viewID)
	}
	return s.setViewValueLocked(ctx, userID, rec, a, values)
}

func inputBlock(rec *viewRec, blockID string) (Action, bool) {
	for _, a := range actionsIn(arr(rec.obj["blocks"])) {
		if a.InInput && a.BlockID == blockID {
			return a, true
		}
	}
	return Action{}, false
}

// setViewValueLocked is called with s.mu held and releases it.
func (s *Server) setViewValueLocked(ctx context.Context, userID string, rec *viewRec, a Action, values []string) (Delivery, error) {
	v, err := valueFor(a, values, s.suggestions[rec.id+"/"+a.ActionID])
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	if a.Type != "overflow" {
		setState(rec.state, a, v)
	}
	s.bumpLocked()
	if a.InInput && !a.DispatchAction {
		s.mu.Unlock()
		return Delivery{}, nil
	}
	u := s.users[userID]
	p, d := s.viewActionsPayloadLocked(u, rec, []any{actionJSON(a, v)})
	s.mu.Unlock()
	return s.send(ctx, "interactive", p, d)
}

// Inputs maps input block_ids to what the person enters (see Select for formats).
type Inputs map[string][]string

// Submission is the outcome of submitting a modal.
type Submission struct {
	Delivery
	ResponseAction string            // "", "errors", "update", "push" or "clear"
	Errors         map[string]string // block_id -> message, for "errors"
	Stack          []View            // the user's modal stack afterwards, bottom first
}

// Submit fills inputs into the user's top modal and presses its submit button.
// Like the Slack client, it refuses to submit while a required input is empty.
// The ack's response_action is applied to the modal stack: none closes the
// view, "clear" closes all, "update" replaces it, "push" stacks a new one,
// "errors" leaves it open. An ack Slack would reject returns ErrBadAck and
// leaves the stack as it was.
func (s *Server) Submit(ctx context.Context, userID, viewID string, inputs Inputs) (Submission, error) {
	s.mu.Lock()
	u, rec, err := s.visibleViewLocked(userID, viewID)
	if err == nil && rec.typ != "modal" {
		err = fmt.Errorf("fakeslack: view %s is a %s, not a modal", viewID, rec.typ)
	}
	if err != nil {
		s.mu.Unlock()
		return Submission{}, err
	}
	for _, blockID := range sortedKeys(inputs) {
		a, ok := inputBlock(rec, blockID)
		if !ok {
			s.mu.Unlock()
			return Submission{}, fmt.Errorf("fakeslack: no input block %q in view %s", blockID, viewID)
		}
		v, err := valueFor(a, inputs[blockID], s.suggestions[rec.id+"/"+a.ActionID])
		if err != nil {
			s.mu.Unlock()
			return Submission{}, err
		}
		setState(rec.state, a, v)
	}
	values := s.stateValuesLocked(rec)
	for _, a := range actionsIn(arr(rec.obj["blocks"])) {
		if !a.InInput || optionalInput(rec, a.BlockID) {
			continue
		}
		blk, _ := values[a.BlockID].(map[string]any)
		v, _ := blk[a.ActionID].(map[string]any)
		if isEmptyValue(v) {
			s.mu.Unlock()
			return Submission{}, fmt.Errorf("fakeslack: required input %q is empty; Slack would not submit", a.BlockID)
		}
	}
	d := Delivery{TriggerID: s.mintTriggerLocked(u.ID, 0)}
	p := map[string]any{
		"type":                  "view_submission",
		"team":                  s.teamJSON(),
		"user":                  s.payloadUser(u),
		"api_app_id":            s.opts.AppID,
		"token":                 s.opts.VerificationToken,
		"trigger_id":            d.TriggerID,
		"view":                  s.viewJSONLocked(rec),
		"response_urls":         []any{},
		"is_enterprise_install": false,
		"enterprise":            nil,
	}
	s.bumpLocked()
	s.mu.Unlock()

	d, err = s.send(ctx, "interactive", p, d)
	sub := Submission{Delivery: d}
	if err == nil {
		err = s.applySubmitAck(userID, viewID, d.Ack.Payload, &sub)
	}
	sub.Stack = s.ModalStack(userID)
	return sub, err
}

func optionalInput(rec *viewRec, blockID string) bool {
	for _, b := range arr(rec.obj["blocks"]) {
		if bm, ok := b.(map[string]any); ok && str(bm["block_id"]) == blockID {
			opt, _ := bm["optional"].(bool)
			return opt
		}
	}
	return false
}

func (s *Server) applySubmitAck(userID, viewID string, payload json.RawMessage, sub *Submission) error {
	var resp struct {
		ResponseAction string            `json:"response_action"`
		View           map[string]any    `json:"view"`
		Errors         map[string]string `json:"errors"`
	}
	if len(payload) > 0 {
		if err := json.Unmarshal(payload, &resp); err != nil {
			return fmt.Errorf("%w: %v", ErrBadAck, err)
		}
	}
	sub.ResponseAction = resp.ResponseAction
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.bumpLocked()
	stack := s.stackOf[userID]
	idx := -1
	for i, id := range stack {
		if id == viewID {
			idx = i
		}
	}
	rec := s.views[viewID]
	switch resp.ResponseAction {
	case "":
		if idx >= 0 {
			s.stackOf[userID] = stack[:idx]
		}
	case "clear":
		s.stackOf[userID] = nil
	case "errors":
		if len(resp.Errors) == 0 {
			return fmt.Errorf("%w: response_action errors without errors", ErrBadAck)
		}
		for blockID := range resp.Errors {
			if _, ok := inputBlock(rec, blockID); !ok {
				// Slack ignores such keys and shows a generic error instead.
				return fmt.Errorf("%w: errors key %q is not an input block_id of the view", ErrBadAck, blockID)
			}
		}
		sub.Errors = resp.Errors
	case "update", "push":
		if resp.View == nil {
			return fmt.Errorf("%w: response_action %s without view", ErrBadAck, resp.ResponseAction)
		}
		if errs := validateView(resp.View, "modal"); len(errs) > 0 {
			return fmt.Errorf("%w: %s", ErrBadAck, strings.Join(errs, "; "))
		}
		if resp.ResponseAction == "update" {
			s.replaceViewLocked(rec, resp.View)
		} else if _, code := s.pushViewLocked(userID, resp.View); code != "" {
			return fmt.Errorf("%w: %s", ErrBadAck, code)
		}
	default:
		return fmt.Errorf("%w: unknown response_action %q", ErrBadAck, resp.ResponseAction)
	}
	return nil
}

// CloseView presses a modal's close button. If the view has notify_on_close, a
// view_closed payload is sent and acked; otherwise the Delivery is empty.
func (s *Server) CloseView(ctx context.Context, userID, viewID string) (Delivery, error) {
	s.mu.Lock()
	u, rec, err := s.visibleViewLocked(userID, viewID)
	if err == nil && rec.typ != "modal" {
		err = fmt.Errorf("fakeslack: view %s is not a modal", viewID)
	}
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	clearAll, _ := rec.obj["clear_on_close"].(bool)
	notify, _ := rec.obj["notify_on_close"].(bool)
	view := s.viewJSONLocked(rec)
	if st := s.stackOf[userID]; clearAll || len(st) <= 1 {
		s.stackOf[userID] = nil
	} else {
		s.stackOf[userID] = st[:len(st)-1]
	}
	s.bumpLocked()
	if !notify {
		s.mu.Unlock()
		return Delivery{}, nil
	}
	p := map[string]any{
		"type": "view_closed", "team": s.teamJSON(), "user": s.payloadUser(u),
		"api_app_id": s.opts.AppID, "token": s.opts.VerificationToken,
		"view": view, "is_cleared": clearAll, "is_enterprise_install": false, "enterprise": nil,
	}
	s.mu.Unlock()
	return s.send(ctx, "interactive", p, Delivery{})
}

// Suggest types query into an external_select of a view and returns the options
// the bot answered with in its ack (block_suggestion). The options can then be
// picked with SelectInView/SetInput/Submit.
func (s *Server) Suggest(ctx context.Context, userID, viewID, actionID, query string) ([]Option, error) {
	s.mu.Lock()
	u, rec, err := s.visibleViewLocked(userID, viewID)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	a, ok := findAction(arr(rec.obj["blocks"]), actionID)
	if !ok || !strings.Contains(a.Type, "external_select") {
		s.mu.Unlock()
		return nil, fmt.Errorf("fakeslack: no external select %q in view %s", actionID, viewID)
	}
	p := map[string]any{
		"type": "block_suggestion", "user": s.payloadUser(u),
		"container":  map[string]any{"type": "view", "view_id": rec.id},
		"api_app_id": s.opts.AppID, "token": s.opts.VerificationToken,
		"action_id": a.ActionID, "block_id": a.BlockID, "value": query,
		"team": s.teamJSON(), "view": s.viewJSONLocked(rec),
		"is_enterprise_install": false, "enterprise": nil,
	}
	s.mu.Unlock()
	d, err := s.send(ctx, "interactive", p, Delivery{})
	if err != nil {
		return nil, err
	}
	var resp map[string]any
	if len(d.Ack.Payload) > 0 {
		if err := json.Unmarshal(d.Ack.Payload, &resp); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadAck, err)
		}
	}
	v := &validator{}
	if resp["options"] != nil {
		v.options("/options", resp, 0, maxSelectOptions, true)
	}
	groups := arr(resp["option_groups"])
	for i, g := range groups {
		gm, _ := g.(map[string]any)
		v.options(fmt.Sprintf("/option_groups/%d", i), gm, 1, maxSelectOptions, true)
	}
	if len(v.errs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrBadAck, strings.Join(v.errs, "; "))
	}
	opts := optionsOf(resp)
	s.mu.Lock()
	s.suggestions[rec.id+"/"+a.ActionID] = opts
	s.mu.Unlock()
	return opts, nil
}
