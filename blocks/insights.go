package blocks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// maxCardInsights is how many insights a review card's line shows; the
// Details modal shows them all.
const maxCardInsights = 3

// maxInsightBlocks bounds the Details modal's insight sections.
const maxInsightBlocks = 4

func insightIcon(s workflow.Severity) string {
	switch s {
	case workflow.SeverityCaution:
		return ":warning:"
	case workflow.SeverityNotice:
		return ":eyes:"
	}
	return ":information_source:"
}

// strongest returns insights strongest first, without changing ins.
func strongest(ins []workflow.Insight) []workflow.Insight {
	out := append([]workflow.Insight(nil), ins...)
	workflow.SortInsights(out)
	return out
}

// insightLine is the review card's line: the strongest few insights, each
// an icon and a few words, and how many more the Details modal has.
func insightLine(ins []workflow.Insight) string {
	if len(ins) == 0 {
		return ""
	}
	ins = strongest(ins)
	n := min(len(ins), maxCardInsights)
	parts := make([]string, 0, n+1)
	for _, in := range ins[:n] {
		parts = append(parts, insightIcon(in.Severity)+" "+escape(truncate(inline(in.Short), 80)))
	}
	s := ":mag: *Insights* · " + strings.Join(parts, " · ")
	if more := len(ins) - n; more > 0 {
		s += fmt.Sprintf(" · _%d more in Details_", more)
	}
	return s
}

// insightBlocks are the Details modal's insights: every one, strongest
// first, with its explanation.
func insightBlocks(w words, ins []workflow.Insight) []slack.Block {
	if len(ins) == 0 {
		return nil
	}
	ins = strongest(ins)
	lines := make([]string, len(ins))
	for i, in := range ins {
		lines[i] = fmt.Sprintf("%s *%s*\n%s", insightIcon(in.Severity), escape(truncate(inline(in.Short), 80)), mentionPeople(w, escape(truncate(in.Text, 1200)), in.People))
	}
	bs := []slack.Block{slack.NewDividerBlock(), section(fmt.Sprintf("*Insights* (%d) · from accessbot's own records; they inform the decision, they do not make it", len(ins)))}
	texts, used := joinLines(lines, maxSectionText, maxInsightBlocks)
	for _, s := range texts {
		bs = append(bs, section(s))
	}
	if more := len(lines) - used; more > 0 {
		bs = append(bs, contextBlock(fmt.Sprintf("%s %d more insights.", ellipsis, more)))
	}
	return bs
}

// mentionPeople turns the emails an insight names into mentions. Longer
// emails go first, and a match must stand alone (not inside a longer
// address), so one email never rewrites part of another.
func mentionPeople(w words, text string, people []string) string {
	ps := append([]string(nil), people...)
	sort.Slice(ps, func(i, j int) bool { return len(ps[i]) > len(ps[j]) })
	for _, p := range ps {
		e := escape(p)
		if e == "" {
			continue
		}
		var b strings.Builder
		rest := text
		for {
			i := strings.Index(rest, e)
			if i < 0 {
				b.WriteString(rest)
				break
			}
			end := i + len(e)
			if (i > 0 && emailByte(rest[i-1])) || (end < len(rest) && emailByte(rest[end]) && !(rest[end] == '.' && (end+1 == len(rest) || !emailByte(rest[end+1])))) {
				b.WriteString(rest[:end])
				rest = rest[end:]
				continue
			}
			b.WriteString(rest[:i])
			b.WriteString(w.who(p))
			rest = rest[end:]
		}
		text = b.String()
	}
	return text
}

// emailByte reports whether c can be part of an email address.
func emailByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_+@", c) >= 0
}
