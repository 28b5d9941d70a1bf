package fakeslack

import (
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// Block Kit limits, as documented by Slack. Messages fail with invalid_blocks and
// views with invalid_arguments; response_metadata.messages explains each problem
// in Slack's style: "[ERROR] <what> [json-pointer:/blocks/3/text/text]".
const (
	maxMessageBlocks   = 50
	maxViewBlocks      = 100
	maxSectionText     = 3000
	maxSectionFields   = 10
	maxFieldText       = 2000
	maxHeaderText      = 150
	maxButtonText      = 75
	maxButtonValue     = 2000
	maxURL             = 3000
	maxID              = 255 // action_id, block_id, callback_id, external_id
	maxActionsElements = 25
	maxContextElements = 10
	maxSelectOptions   = 100
	maxOptionText      = 75
	maxOptionValue     = 150
	maxChoiceOptions   = 10 // checkboxes and radio buttons
	maxOverflowOptions = 5
	maxPlaceholder     = 150
	maxLabel           = 2000
	maxHint            = 2000
	maxViewTitle       = 24 // title, submit, close
	maxPrivateMetadata = 3000
	maxConfirmTitle    = 100
	maxConfirmText     = 300
	maxConfirmButton   = 30
	maxMarkdownBlock   = 12000
	maxInputLength     = 3000
	maxAltText         = 2000
)

var knownBlocks = map[string]bool{
	"section": true, "header": true, "actions": true, "context": true, "divider": true,
	"image": true, "input": true, "rich_text": true, "markdown": true, "file": true,
	"video": true, "table": true,
}

// inputElements may sit in an input block.
var inputElements = map[string]bool{
	"plain_text_input": true, "number_input": true, "email_text_input": true, "url_text_input": true,
	"rich_text_input": true, "file_input": true, "checkboxes": true, "radio_buttons": true,
	"static_select": true, "multi_static_select": true, "external_select": true, "multi_external_select": true,
	"users_select": true, "multi_users_select": true, "conversations_select": true,
	"multi_conversations_select": true, "channels_select": true, "multi_channels_select": true,
	"datepicker": true, "timepicker": true, "datetimepicker": true,
}

type validator struct{ errs []string }

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, fmt.Sprintf("[ERROR] %s [json-pointer:%s]", fmt.Sprintf(format, args...), path))
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// validateMessageBlocks checks a message's blocks array.
func validateMessageBlocks(blocks []any) []string {
	v := &validator{}
	v.blocks("/blocks", blocks, maxMessageBlocks)
	return v.errs
}

// validateView checks a view object; wantType is "modal" or "home".
func validateView(view map[string]any, wantType string) []string {
	v := &validator{}
	typ := str(view["type"])
	if typ != wantType {
		v.add("/view/type", "must be %q, got %q", wantType, typ)
	}
	blocks, ok := view["blocks"].([]any)
	if !ok {
		v.add("/view/blocks", "missing required field: blocks")
	}
	v.blocks("/view/blocks", blocks, maxViewBlocks)
	if typ == "modal" {
		if view["title"] == nil {
			v.add("/view/title", "missing required field: title")
		} else {
			v.text("/view/title", view["title"], maxViewTitle, true, true)
		}
		if view["submit"] != nil {
			v.text("/view/submit", view["submit"], maxViewTitle, true, true)
		} else if hasInput(blocks) {
			v.add("/view/submit", "submit is required when an input block is within the blocks array")
		}
		if view["close"] != nil {
			v.text("/view/close", view["close"], maxViewTitle, true, true)
		}
	}
	v.maxLen("/view/private_metadata", str(view["private_metadata"]), maxPrivateMetadata)
	v.maxLen("/view/callback_id", str(view["callback_id"]), maxID)
	v.maxLen("/view/external_id", str(view["external_id"]), maxID)
	return v.errs
}

func hasInput(blocks []any) bool {
	for _, b := range blocks {
		if bm, ok := b.(map[string]any); ok && str(bm["type"]) == "input" {
			return true
		}
	}
	return false
}

func (v *validator) maxLen(path, s string, n int) {
	if runes(s) > n {
		v.add(path, "must be less than %d characters", n+1)
	}
}

func (v *validator) blocks(path string, blocks []any, limit int) {
	if len(blocks) > limit {
		v.add(path, "must be less than %d items", limit+1)
	}
	ids := map[string]bool{}
	for i, b := range blocks {
		p := fmt.Sprintf("%s/%d", path, i)
		bm, ok := b.(map[string]any)
		if !ok {
			v.add(p, "must be an object")
			continue
		}
		if id := str(bm["block_id"]); id != "" {
			v.maxLen(p+"/block_id", id, maxID)
			if ids[id] {
				v.add(p+"/block_id", "duplicate block_id %q", id)
			}
			ids[id] = true
		}
		v.block(p, bm)
	}
}

func (v *validator) block(p string, b map[string]any) {
	typ := str(b["type"])
	switch typ {
	case "section":
		if b["text"] == nil && b["fields"] == nil {
			v.add(p, "section needs text or fields")
		}
		if b["text"] != nil {
			v.text(p+"/text", b["text"], maxSectionText, false, true)
		}
		if f, ok := b["fields"]; ok {
			fields := arr(f)
			if len(fields) > maxSectionFields {
				v.add(p+"/fields", "must be less than %d items", maxSectionFields+1)
			}
			for i, fl := range fields {
				v.text(fmt.Sprintf("%s/fields/%d", p, i), fl, maxFieldText, false, true)
			}
		}
		if acc, ok := b["accessory"]; ok && acc != nil {
			v.element(p+"/accessory", acc, nil, "accessory")
		}
	case "header":
		v.text(p+"/text", b["text"], maxHeaderText, true, true)
	case "actions":
		els := arr(b["elements"])
		if len(els) == 0 {
			v.add(p+"/elements", "must have at least 1 item")
		}
		if len(els) > maxActionsElements {
			v.add(p+"/elements", "must be less than %d items", maxActionsElements+1)
		}
		seen := map[string]bool{}
		for i, e := range els {
			v.element(fmt.Sprintf("%s/elements/%d", p, i), e, seen, "actions")
		}
	case "context":
		els := arr(b["elements"])
		if len(els) == 0 {
			v.add(p+"/elements", "must have at least 1 item")
		}
		if len(els) > maxContextElements {
			v.add(p+"/elements", "must be less than %d items", maxContextElements+1)
		}
		for i, e := range els {
			ep := fmt.Sprintf("%s/elements/%d", p, i)
			em, _ := e.(map[string]any)
			switch str(em["type"]) {
			case "plain_text", "mrkdwn":
				v.text(ep, em, maxSectionText, false, true)
			case "image":
				v.image(ep, em)
			default:
				v.add(ep+"/type", "context elements must be text or image, got %q", str(em["type"]))
			}
		}
	case "image":
		v.image(p, b)
		if b["title"] != nil {
			v.text(p+"/title", b["title"], maxAltText, true, false)
		}
	case "input":
		v.text(p+"/label", b["label"], maxLabel, true, true)
		if b["hint"] != nil {
			v.text(p+"/hint", b["hint"], maxHint, true, true)
		}
		el, _ := b["element"].(map[string]any)
		if el == nil {
			v.add(p+"/element", "missing required field: element")
		} else if !inputElements[str(el["type"])] {
			v.add(p+"/element/type", "%q cannot be used in an input block", str(el["type"]))
		} else {
			v.element(p+"/element", el, nil, "input")
		}
	case "markdown":
		if s, ok := b["text"].(string); !ok || s == "" {
			v.add(p+"/text", "missing required field: text")
		} else {
			v.maxLen(p+"/text", s, maxMarkdownBlock)
		}
	case "rich_text":
		if len(arr(b["elements"])) == 0 {
			v.add(p+"/elements", "must have at least 1 item")
		}
	case "divider", "file", "video", "table":
	default:
		if !knownBlocks[typ] {
			v.add(p+"/type", "unsupported block type %q", typ)
		}
	}
}

// text checks a text object: type plain_text or mrkdwn, non-empty text, length.
func (v *validator) text(p string, t any, limit int, plainOnly, required bool) {
	tm, ok := t.(map[string]any)
	if !ok {
		if required || t != nil {
			v.add(p, "must be a text object")
		}
		return
	}
	typ := str(tm["type"])
	switch {
	case typ == "plain_text":
	case typ == "mrkdwn" && !plainOnly:
	case typ == "mrkdwn":
		v.add(p+"/type", "must be plain_text")
	default:
		v.add(p+"/type", "must be plain_text or mrkdwn, got %q", typ)
	}
	s, _ := tm["text"].(string)
	if s == "" {
		v.add(p+"/text", "must be more than 0 characters")
	}
	v.maxLen(p+"/text", s, limit)
}

func (v *validator) image(p string, im map[string]any) {
	if str(im["image_url"]) == "" && im["slack_file"] == nil {
		v.add(p, "image needs image_url or slack_file")
	}
	v.maxLen(p+"/image_url", str(im["image_url"]), maxURL)
	if str(im["alt_text"]) == "" {
		v.add(p+"/alt_text", "missing required field: alt_text")
	}
	v.maxLen(p+"/alt_text", str(im["alt_text"]), maxAltText)
}

var (
	dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	timeRE = regexp.MustCompile(`^\d{2}:\d{2}$`)
)

// element checks an interactive element. seen tracks action_ids within a block.
func (v *validator) element(p string, e any, seen map[string]bool, where string) {
	el, ok := e.(map[string]any)
	if !ok {
		v.add(p, "must be an object")
		return
	}
	typ := str(el["type"])
	if typ == "image" && where == "accessory" {
		v.image(p, el)
		return
	}
	if !interactiveTypes[typ] {
		v.add(p+"/type", "unsupported element type %q", typ)
		return
	}
	if id := str(el["action_id"]); id != "" {
		v.maxLen(p+"/action_id", id, maxID)
		if seen != nil {
			if seen[id] {
				v.add(p+"/action_id", "duplicate action_id %q in block", id)
			}
			seen[id] = true
		}
	}
	if c, ok := el["confirm"]; ok && c != nil {
		v.confirm(p+"/confirm", c)
	}
	if el["placeholder"] != nil {
		v.text(p+"/placeholder", el["placeholder"], maxPlaceholder, true, true)
	}
	switch typ {
	case "button":
		v.text(p+"/text", el["text"], maxButtonText, true, true)
		v.maxLen(p+"/value", str(el["value"]), maxButtonValue)
		v.maxLen(p+"/url", str(el["url"]), maxURL)
		if st := str(el["style"]); st != "" && st != "primary" && st != "danger" {
			v.add(p+"/style", "must be primary or danger")
		}
	case "overflow":
		v.options(p, el, 1, maxOverflowOptions, true)
	case "static_select", "multi_static_select":
		opts, groups := el["options"] != nil, el["option_groups"] != nil
		switch {
		case opts == groups:
			v.add(p, "exactly one of options or option_groups is required")
		case opts:
			v.options(p, el, 1, maxSelectOptions, true)
		default:
			gs := arr(el["option_groups"])
			if len(gs) > maxSelectOptions {
				v.add(p+"/option_groups", "must be less than %d items", maxSelectOptions+1)
			}
			for i, g := range gs {
				gm, _ := g.(map[string]any)
				gp := fmt.Sprintf("%s/option_groups/%d", p, i)
				v.text(gp+"/label", gm["label"], maxOptionText, true, true)
				v.options(gp, gm, 1, maxSelectOptions, true)
			}
		}
		v.initialOptions(p, el)
	case "checkboxes", "radio_buttons":
		v.options(p, el, 1, maxChoiceOptions, false)
		v.initialOptions(p, el)
	case "plain_text_input":
		for _, k := range []string{"min_length", "max_length"} {
			if n, ok := el[k].(float64); ok && (n < 0 || n > maxInputLength) {
				v.add(p+"/"+k, "must be between 0 and %d", maxInputLength)
			}
		}
		v.maxLen(p+"/initial_value", str(el["initial_value"]), maxInputLength)
	case "datepicker":
		if d := str(el["initial_date"]); d != "" && !dateRE.MatchString(d) {
			v.add(p+"/initial_date", "must be YYYY-MM-DD")
		}
	case "timepicker":
		if t := str(el["initial_time"]); t != "" && !timeRE.MatchString(t) {
			v.add(p+"/initial_time", "must be HH:mm")
		}
	}
}

func (v *validator) options(p string, el map[string]any, minN, maxN int, plainOnly bool) {
	opts := arr(el["options"])
	if len(opts) < minN {
		v.add(p+"/options", "must have at least %d items", minN)
	}
	if len(opts) > maxN {
		v.add(p+"/options", "must be less than %d items", maxN+1)
	}
	for i, o := range opts {
		op := fmt.Sprintf("%s/options/%d", p, i)
		om, ok := o.(map[string]any)
		if !ok {
			v.add(op, "must be an object")
			continue
		}
		v.text(op+"/text", om["text"], maxOptionText, plainOnly, true)
		if str(om["value"]) == "" {
			v.add(op+"/value", "missing required field: value")
		}
		v.maxLen(op+"/value", str(om["value"]), maxOptionValue)
		if om["description"] != nil {
			v.text(op+"/description", om["description"], maxOptionText, plainOnly, true)
		}
	}
}

// initialOptions: Slack rejects an initial option that is not among the options.
func (v *validator) initialOptions(p string, el map[string]any) {
	values := map[string]bool{}
	for _, o := range optionsOf(el) {
		values[o.Value] = true
	}
	check := func(ip string, o any) {
		if om, ok := o.(map[string]any); ok && !values[str(om["value"])] {
			v.add(ip, "initial option %q is not one of the options", str(om["value"]))
		}
	}
	if io, ok := el["initial_option"]; ok && io != nil {
		check(p+"/initial_option", io)
	}
	for i, o := range arr(el["initial_options"]) {
		check(p+"/initial_options/"+strconv.Itoa(i), o)
	}
}

func (v *validator) confirm(p string, c any) {
	cm, ok := c.(map[string]any)
	if !ok {
		v.add(p, "must be a confirm object")
		return
	}
	v.text(p+"/title", cm["title"], maxConfirmTitle, true, true)
	v.text(p+"/text", cm["text"], maxConfirmText, false, true)
	for _, k := range []string{"confirm", "deny"} {
		if cm[k] != nil {
			v.text(p+"/"+k, cm[k], maxConfirmButton, true, true)
		}
	}
}
