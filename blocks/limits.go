package blocks

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// Slack's Block Kit limits (see /shared/SLACK-FACTS.md). Lengths count
// characters (runes), as Slack does.
const (
	maxMessageBlocks   = 50
	maxViewBlocks      = 100
	maxSectionText     = 3000
	maxSectionFields   = 10
	maxFieldText       = 2000
	maxHeaderText      = 150
	maxButtonText      = 75
	maxButtonValue     = 2000
	maxActionsElements = 25
	maxContextElements = 10
	maxOptionText      = 75
	maxOptionValue     = 150
	maxOverflowOptions = 5
	maxViewTitle       = 24 // modal title, submit and close
	maxPrivateMetadata = 3000
	maxLabel           = 2000
	maxHint            = 2000
	maxPlaceholder     = 150
	maxInputLength     = 3000
	// maxFallbackText keeps a message's notification text under Slack's
	// 4,000 characters.
	maxFallbackText = 3900
)

// ellipsis ends every text that was cut.
const ellipsis = workflow.Ellipsis

// truncate cuts s to at most max runes (workflow.Truncate).
func truncate(s string, max int) string { return workflow.Truncate(s, max) }

// truncateRunes returns the first n runes of s.
func truncateRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// truncateMrkdwn is truncate for mrkdwn: it never leaves a mention, date or
// link token ("<…>") or an entity ("&amp;") cut open, which Slack would show
// as garbage.
func truncateMrkdwn(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	cut := truncateRunes(s, max-1)
	if open := strings.LastIndexByte(cut, '<'); open > strings.LastIndexByte(cut, '>') {
		cut = cut[:open]
	}
	if amp := strings.LastIndexByte(cut, '&'); amp >= 0 && !strings.Contains(cut[amp:], ";") && len(cut)-amp < 8 {
		cut = cut[:amp]
	}
	return cut + ellipsis
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape makes text people typed safe for mrkdwn: no mention, link or
// broadcast (<!channel>) can be smuggled in, and no control or bidi
// character can reorder or hide what a card shows (see visible).
func escape(s string) string { return mrkdwnEscaper.Replace(visible(s)) }

// Escape is escape for the bot's own plain messages (comment mirrors,
// thread answers): every piece of user text it posts goes through it.
func Escape(s string) string { return escape(s) }

// visible shows control characters (but newline and tab) and the Unicode
// bidi and invisible formatting characters as "[U+202E]", so that text
// people typed cannot spoof what a card displays (right-to-left overrides
// that reverse a duration, zero-width characters that hide a word).
func visible(s string) string {
	if !strings.ContainsFunc(s, hiddenRune) {
		return s
	}
	var sb strings.Builder
	for _, r := range s {
		if hiddenRune(r) {
			fmt.Fprintf(&sb, "[U+%04X]", r)
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

func hiddenRune(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || (r >= 0x7f && r <= 0x9f):
		return true
	case r == 0x061c || r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
		return true // bidi marks, embeddings, overrides and isolates
	case (r >= 0x200b && r <= 0x200d) || r == 0x2060 || r == 0xfeff || r == utf8.RuneError:
		return true // zero-width and invalid
	}
	return false
}

// nonEmpty stands in for an empty text, which Slack rejects.
func nonEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

// plain is a plain_text object cut to max.
func plain(s string, max int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, nonEmpty(truncate(visible(s), max)), true, false)
}

// md is a mrkdwn object cut to max.
func md(s string, max int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, nonEmpty(truncateMrkdwn(s, max)), false, false)
}

func header(s string) *slack.HeaderBlock {
	return slack.NewHeaderBlock(plain(s, maxHeaderText))
}

func section(text string) *slack.SectionBlock {
	return slack.NewSectionBlock(md(text, maxSectionText), nil, nil)
}

// fields is a section of up to ten short mrkdwn fields.
func fields(fs ...string) *slack.SectionBlock {
	var objs []*slack.TextBlockObject
	for _, f := range fs {
		if f == "" || len(objs) == maxSectionFields {
			continue
		}
		objs = append(objs, md(f, maxFieldText))
	}
	return slack.NewSectionBlock(nil, objs, nil)
}

// contextBlock is a context block of up to ten mrkdwn elements.
func contextBlock(texts ...string) *slack.ContextBlock {
	var els []slack.MixedElement
	for _, t := range texts {
		if t == "" || len(els) == maxContextElements {
			continue
		}
		els = append(els, md(t, maxSectionText))
	}
	if len(els) == 0 {
		els = append(els, md("", maxSectionText))
	}
	return slack.NewContextBlock("", els...)
}

func button(actionID, text, value string, style slack.Style) *slack.ButtonBlockElement {
	b := slack.NewButtonBlockElement(actionID, cutBytes(value, maxButtonValue), plain(text, maxButtonText))
	if style != "" {
		b = b.WithStyle(style)
	}
	return b
}

func option(text, value string) *slack.OptionBlockObject {
	return slack.NewOptionBlockObject(cutBytes(value, maxOptionValue), plain(text, maxOptionText), nil)
}

// actions is an actions block of up to 25 elements.
func actions(els ...slack.BlockElement) *slack.ActionBlock {
	if len(els) > maxActionsElements {
		els = els[:maxActionsElements]
	}
	return slack.NewActionBlock("", els...)
}

// fitBlocks keeps a list of blocks within max: when it is longer, the first
// blocks and the last one (the buttons or the status line) are kept and a
// note stands for the rest.
func fitBlocks(bs []slack.Block, max int) []slack.Block {
	if len(bs) <= max {
		return bs
	}
	out := append([]slack.Block(nil), bs[:max-2]...)
	out = append(out, contextBlock(ellipsis+" more of this task is in its details."))
	return append(out, bs[len(bs)-1])
}

// joinLines joins lines into texts of at most max runes each: a line that
// does not fit in the current text starts the next one; a line longer than
// max is cut. It returns the texts and how many lines they hold.
func joinLines(lines []string, max, maxTexts int) ([]string, int) {
	var texts []string
	var cur strings.Builder
	curLen, used := 0, 0
	for _, l := range lines {
		l = truncateMrkdwn(l, max)
		n := utf8.RuneCountInString(l)
		if curLen > 0 && curLen+1+n > max {
			texts = append(texts, cur.String())
			cur.Reset()
			curLen = 0
		}
		if curLen == 0 && len(texts) == maxTexts {
			break
		}
		if curLen > 0 {
			cur.WriteByte('\n')
			curLen++
		}
		cur.WriteString(l)
		curLen += n
		used++
	}
	if curLen > 0 {
		texts = append(texts, cur.String())
	}
	return texts, used
}
