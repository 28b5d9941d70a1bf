package fakeslack

import (
	"context"
	"fmt"
)

// A view can hold many elements with the same action_id, one per block (the
// rows of an App Home list, each with its own Approve button or checkbox):
// these press or pick the one in a given block, as a person does by
// pointing at a row.

// findActionInBlock finds the element with actionID in the block blockID.
func findActionInBlock(blocks []any, blockID, actionID string) (Action, bool) {
	for _, a := range actionsIn(blocks) {
		if a.BlockID == blockID && a.ActionID == actionID {
			return a, true
		}
	}
	return Action{}, false
}

// ClickInViewBlock presses the button actionID of block blockID in a modal or
// Home tab.
func (s *Server) ClickInViewBlock(ctx context.Context, userID, viewID, blockID, actionID string) (Delivery, error) {
	s.mu.Lock()
	u, rec, err := s.visibleViewLocked(userID, viewID)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	a, ok := findActionInBlock(arr(rec.obj["blocks"]), blockID, actionID)
	if !ok || a.Type != "button" {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("fakeslack: no button %q in block %q of view %s", actionID, blockID, viewID)
	}
	p, d := s.viewActionsPayloadLocked(u, rec, []any{actionJSON(a, nil)})
	s.mu.Unlock()
	return s.send(ctx, "interactive", p, d)
}

// SelectInViewBlock picks values in the element actionID of block blockID
// (a row's checkbox, for example), like SelectInView.
func (s *Server) SelectInViewBlock(ctx context.Context, userID, viewID, blockID, actionID string, values ...string) (Delivery, error) {
	s.mu.Lock()
	_, rec, err := s.visibleViewLocked(userID, viewID)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	a, ok := findActionInBlock(arr(rec.obj["blocks"]), blockID, actionID)
	if !ok || a.Type == "button" {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("fakeslack: no selectable element %q in block %q of view %s", actionID, blockID, viewID)
	}
	return s.setViewValueLocked(ctx, userID, rec, a, values)
}
