package fakeslack

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Blocks are handled as generic JSON (map[string]any) on purpose: the fake must
// accept and judge exactly what the bot sends, independent of slack-go's types.

// Action is an interactive element found in a message or view.
type Action struct {
	Type           string // "button", "overflow", "static_select", "checkboxes", ...
	ActionID       string
	BlockID        string
	Text           string // button text, or placeholder for selects and inputs
	Value          string // button value
	URL            string // link buttons
	Style          string // "primary", "danger" or ""
	Options        []Option
	InInput        bool // the element of an input block
	DispatchAction bool // an input element that sends block_actions on change
	Element        map[string]any
}

// Option is one choice of a select, overflow, checkbox or radio element.
type Option struct {
	Text  string
	Value string
	Raw   map[string]any
}

// interactiveTypes are the element types a person can act on.
var interactiveTypes = map[string]bool{
	"button": true, "overflow": true, "checkboxes": true, "radio_buttons": true,
	"static_select": true, "multi_static_select": true,
	"external_select": true, "multi_external_select": true,
	"users_select": true, "multi_users_select": true,
	"conversations_select": true, "multi_conversations_select": true,
	"channels_select": true, "multi_channels_select": true,
	"datepicker": true, "timepicker": true, "datetimepicker": true,
	"plain_text_input": true, "number_input": true, "email_text_input": true,
	"url_text_input": true, "rich_text_input": true, "file_input": true,
	"workflow_button": true,
}

func decodeBlocks(raw json.RawMessage) []any {
	if len(raw) == 0 {
		return nil
	}
	var blocks []any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil
	}
	return blocks
}

// actionsIn lists the interactive elements of blocks in document order.
func actionsIn(blocks []any) []Action {
	var out []Action
	for _, b := range blocks {
		bm, ok := b.(map[string]any)
		if !ok {
			continue
		}
		blockID := str(bm["block_id"])
		switch str(bm["type"]) {
		case "actions":
			for _, e := range arr(bm["elements"]) {
				if em, ok := e.(map[string]any); ok {
					out = append(out, newAction(em, blockID, false, false))
				}
			}
		case "section":
			if em, ok := bm["accessory"].(map[string]any); ok && interactiveTypes[str(em["type"])] {
				out = append(out, newAction(em, blockID, false, false))
			}
		case "input":
			if em, ok := bm["element"].(map[string]any); ok {
				dispatch, _ := bm["dispatch_action"].(bool)
				out = append(out, newAction(em, blockID, true, dispatch))
			}
		}
	}
	return out
}

func newAction(el map[string]any, blockID string, inInput, dispatch bool) Action {
	a := Action{
		Type:           str(el["type"]),
		ActionID:       str(el["action_id"]),
		BlockID:        blockID,
		Value:          str(el["value"]),
		URL:            str(el["url"]),
		Style:          str(el["style"]),
		InInput:        inInput,
		DispatchAction: dispatch,
		Element:        el,
	}
	if t := textOf(el["text"]); t != "" {
		a.Text = t
	} else {
		a.Text = textOf(el["placeholder"])
	}
	a.Options = optionsOf(el)
	return a
}

func optionsOf(el map[string]any) []Option {
	var out []Option
	add := func(list []any) {
		for _, o := range list {
			if om, ok := o.(map[string]any); ok {
				out = append(out, Option{Text: textOf(om["text"]), Value: str(om["value"]), Raw: om})
			}
		}
	}
	add(arr(el["options"]))
	for _, g := range arr(el["option_groups"]) {
		if gm, ok := g.(map[string]any); ok {
			add(arr(gm["options"]))
		}
	}
	return out
}

// findAction matches by "BLOCK_ID/ACTION_ID", then action_id, then the visible text, so tests can
// say Click(..., "Approve") as a person would.
func findAction(blocks []any, match string) (Action, bool) {
	acts := actionsIn(blocks)
	// "BLOCK/ACTION" picks one of several elements sharing an action_id
	// in different blocks, as a person picks the button of one row.
	if blockID, actionID, ok := strings.Cut(match, "/"); ok {
		for _, a := range acts {
			if a.BlockID == blockID && a.ActionID == actionID {
				return a, true
			}
		}
	}
	for _, a := range acts {
		if a.ActionID == match {
			return a, true
		}
	}
	for _, a := range acts {
		if a.Text == match {
			return a, true
		}
	}
	return Action{}, false
}

// allText gathers every "text" string in the blocks (text objects, rich text
// leaves), one per line, for assertions like strings.Contains(msg.AllText(), "approved").
func allText(v any, sb *strings.Builder) {
	switch t := v.(type) {
	case map[string]any:
		if s, ok := t["text"].(string); ok {
			sb.WriteString(s)
			sb.WriteByte('\n')
		}
		for _, k := range sortedKeys(t) {
			if k == "text" {
				if _, ok := t[k].(string); ok {
					continue
				}
			}
			allText(t[k], sb)
		}
	case []any:
		for _, e := range t {
			allText(e, sb)
		}
	}
}

// normalizeBlocks fills in missing block_id and action_id like Slack does, so
// interaction payloads built later carry the ids the bot will see.
func (s *Server) normalizeBlocksLocked(blocks []any) {
	fill := func(m map[string]any, key, prefix string) {
		if str(m[key]) == "" {
			m[key] = fmt.Sprintf("%s%d", prefix, s.nextIDLocked())
		}
	}
	for _, b := range blocks {
		bm, ok := b.(map[string]any)
		if !ok {
			continue
		}
		fill(bm, "block_id", "fs-b")
		var els []any
		switch str(bm["type"]) {
		case "actions":
			els = arr(bm["elements"])
		case "section":
			els = []any{bm["accessory"]}
		case "input":
			els = []any{bm["element"]}
		}
		for _, e := range els {
			if em, ok := e.(map[string]any); ok && interactiveTypes[str(em["type"])] {
				fill(em, "action_id", "fs-a")
			}
		}
	}
}

// textOf returns the text of a text object, or a plain string.
func textOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		return str(t["text"])
	}
	return ""
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func arr(v any) []any {
	a, _ := v.([]any)
	return a
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fakeslack: marshal: %v", err))
	}
	return b
}

// cloneJSON deep-copies a decoded JSON value so stored state never aliases
// what callers hold.
func cloneJSON[T any](v T) T {
	var out T
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &out)
	return out
}
