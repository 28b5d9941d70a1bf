package blocks

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// message is a card as chat.postMessage receives it.
type message struct {
	Text   string        `json:"text"`
	Blocks []slack.Block `json:"blocks"`
}

// render marshals v as indented JSON, with <, > and & kept readable.
func render(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(v))
	return unescapeHTML(buf.Bytes())
}

// unescapeHTML undoes the \u003c, \u003e and \u0026 escapes of slack-go's
// own marshalers so that a person can read the goldens. An escaped
// backslash ("\\u003c" is a backslash and "u003c") stays as it is.
func unescapeHTML(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 == len(b) {
			out = append(out, b[i])
			continue
		}
		if i+5 < len(b) && b[i+1] == 'u' {
			switch string(b[i+2 : i+6]) {
			case "003c":
				out, i = append(out, '<'), i+5
				continue
			case "003e":
				out, i = append(out, '>'), i+5
				continue
			case "0026":
				out, i = append(out, '&'), i+5
				continue
			}
		}
		out = append(out, b[i], b[i+1])
		i++
	}
	return out
}

// golden compares v's JSON with testdata/<name>.golden, or rewrites it
// with -update.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got := render(t, v)
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "no golden file: run go test ./blocks -update")
	require.Equal(t, string(want), string(got), "%s differs; if the change is meant, run go test ./blocks -update and read the diff", path)
}

// surface says which of Slack's limits apply.
type surface int

const (
	surfaceMessage surface = iota
	surfaceModal
	surfaceHome
)

// checkLimits walks v's JSON generically and reports every Block Kit limit
// it breaks, the way Slack would refuse it.
func checkLimits(t *testing.T, name string, v any, s surface) {
	t.Helper()
	var doc map[string]any
	require.NoError(t, json.Unmarshal(render(t, v), &doc))
	l := &limitChecker{}
	blocks, _ := doc["blocks"].([]any)
	switch s {
	case surfaceMessage:
		text, _ := doc["text"].(string)
		l.len("/text", text, maxFallbackText)
		if strings.TrimSpace(text) == "" {
			l.fail("/text", "empty fallback text")
		}
		l.count("/blocks", blocks, 1, maxMessageBlocks)
	case surfaceModal:
		l.count("/blocks", blocks, 1, maxViewBlocks)
		if doc["type"] != "modal" {
			l.fail("/type", "want modal, got %v", doc["type"])
		}
		for _, k := range []string{"title", "submit", "close"} {
			if obj, ok := doc[k].(map[string]any); ok {
				l.text("/"+k, obj, maxViewTitle, true)
			} else if k == "title" {
				l.fail("/title", "missing")
			}
		}
		if doc["submit"] == nil && hasInput(blocks) {
			l.fail("/submit", "a modal with inputs needs a submit button")
		}
		meta, _ := doc["private_metadata"].(string)
		l.len("/private_metadata", meta, maxPrivateMetadata)
		cb, _ := doc["callback_id"].(string)
		l.len("/callback_id", cb, 255)
	case surfaceHome:
		l.count("/blocks", blocks, 1, maxViewBlocks)
		if doc["type"] != "home" {
			l.fail("/type", "want home, got %v", doc["type"])
		}
		meta, _ := doc["private_metadata"].(string)
		l.len("/private_metadata", meta, maxPrivateMetadata)
	}
	ids := map[string]bool{}
	for i, b := range blocks {
		p := fmt.Sprintf("/blocks/%d", i)
		bm, _ := b.(map[string]any)
		if id, _ := bm["block_id"].(string); id != "" {
			if ids[id] {
				l.fail(p, "duplicate block_id %q", id)
			}
			ids[id] = true
		}
		l.block(p, bm)
	}
	l.walk("", doc)
	require.Empty(t, l.errs, "%s breaks Slack's limits", name)
}

func hasInput(blocks []any) bool {
	for _, b := range blocks {
		if bm, _ := b.(map[string]any); bm["type"] == "input" {
			return true
		}
	}
	return false
}

type limitChecker struct{ errs []string }

func (l *limitChecker) fail(p, format string, args ...any) {
	l.errs = append(l.errs, p+": "+fmt.Sprintf(format, args...))
}

func (l *limitChecker) len(p, s string, max int) {
	if n := utf8.RuneCountInString(s); n > max {
		l.fail(p, "%d characters, at most %d", n, max)
	}
}

func (l *limitChecker) count(p string, a []any, min, max int) {
	if len(a) < min || len(a) > max {
		l.fail(p, "%d items, want %d to %d", len(a), min, max)
	}
}

// text checks a text object.
func (l *limitChecker) text(p string, v any, max int, plainOnly bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		l.fail(p, "not a text object")
		return
	}
	typ, _ := obj["type"].(string)
	if typ != "plain_text" && (plainOnly || typ != "mrkdwn") {
		l.fail(p, "text type %q", typ)
	}
	s, _ := obj["text"].(string)
	if strings.TrimSpace(s) == "" {
		l.fail(p, "empty text")
	}
	l.len(p, s, max)
}

func arr(v any) []any { a, _ := v.([]any); return a }

// block checks the limits of one block by its type.
func (l *limitChecker) block(p string, b map[string]any) {
	switch b["type"] {
	case "section":
		if b["text"] == nil && b["fields"] == nil {
			l.fail(p, "section without text or fields")
		}
		if b["text"] != nil {
			l.text(p+"/text", b["text"], maxSectionText, false)
		}
		fs := arr(b["fields"])
		if b["fields"] != nil {
			l.count(p+"/fields", fs, 1, maxSectionFields)
		}
		for i, f := range fs {
			l.text(fmt.Sprintf("%s/fields/%d", p, i), f, maxFieldText, false)
		}
	case "header":
		l.text(p+"/text", b["text"], maxHeaderText, true)
	case "actions":
		els := arr(b["elements"])
		l.count(p+"/elements", els, 1, maxActionsElements)
		seen := map[string]bool{}
		for i, e := range els {
			em, _ := e.(map[string]any)
			id, _ := em["action_id"].(string)
			if seen[id] {
				l.fail(fmt.Sprintf("%s/elements/%d", p, i), "duplicate action_id %q", id)
			}
			seen[id] = true
		}
	case "context":
		l.count(p+"/elements", arr(b["elements"]), 1, maxContextElements)
	case "input":
		l.text(p+"/label", b["label"], maxLabel, true)
		if b["hint"] != nil {
			l.text(p+"/hint", b["hint"], maxHint, true)
		}
	case "divider":
	default:
		l.fail(p, "unexpected block type %v", b["type"])
	}
}

// walk checks what may sit anywhere: elements, options, ids, every text.
func (l *limitChecker) walk(p string, v any) {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			l.walk(fmt.Sprintf("%s/%d", p, i), e)
		}
	case map[string]any:
		typ, _ := x["type"].(string)
		switch typ {
		case "plain_text", "mrkdwn":
			l.text(p, x, maxSectionText, false)
		case "button":
			l.text(p+"/text", x["text"], maxButtonText, true)
			val, _ := x["value"].(string)
			l.len(p+"/value", val, maxButtonValue)
		case "overflow":
			l.count(p+"/options", arr(x["options"]), 1, maxOverflowOptions)
		case "plain_text_input":
			if n, ok := x["max_length"].(float64); ok && (n < 1 || n > maxInputLength) {
				l.fail(p+"/max_length", "%v", n)
			}
			iv, _ := x["initial_value"].(string)
			l.len(p+"/initial_value", iv, maxInputLength)
		}
		if ph, ok := x["placeholder"]; ok {
			l.text(p+"/placeholder", ph, maxPlaceholder, true)
		}
		for i, o := range arr(x["options"]) {
			om, _ := o.(map[string]any)
			op := fmt.Sprintf("%s/options/%d", p, i)
			l.text(op+"/text", om["text"], maxOptionText, true)
			val, _ := om["value"].(string)
			if val == "" {
				l.fail(op+"/value", "empty")
			}
			l.len(op+"/value", val, maxOptionValue)
		}
		for _, k := range []string{"action_id", "block_id"} {
			if s, ok := x[k].(string); ok {
				l.len(p+"/"+k, s, 255)
			}
		}
		for k, e := range x {
			l.walk(p+"/"+k, e)
		}
	}
}
