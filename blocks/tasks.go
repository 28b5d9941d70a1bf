package blocks

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"
)

// WaitingGroup is one kind of work that waits on a person, for the answer
// to `/access tasks`.
type WaitingGroup struct {
	Label string // "Access requests to review"
	Total int
	// First names the first few tasks, "T-12 (GitHub / admin)", in mrkdwn
	// already escaped.
	First []string
}

// WaitingSummary is the answer to `/access tasks`: what waits on the
// person by kind, how many of their own requests are open, and a link
// button to the App Home when homeLink is known. It returns the text
// (the notification fallback) and the blocks.
func WaitingSummary(groups []WaitingGroup, mine int, homeLink string) (string, []slack.Block) {
	var sb strings.Builder
	total := 0
	for _, g := range groups {
		total += g.Total
	}
	if total == 0 {
		sb.WriteString("*Nothing waits on you.* :tada:\n")
	} else {
		fmt.Fprintf(&sb, "*%d %s on you:*\n", total, countNoun(total, "task waits", "tasks wait"))
		for _, g := range groups {
			more := ""
			if g.Total > len(g.First) {
				more = fmt.Sprintf(" and %d more", g.Total-len(g.First))
			}
			fmt.Fprintf(&sb, "• %s: *%d* — %s%s\n", g.Label, g.Total, strings.Join(g.First, ", "), more)
		}
	}
	if mine > 0 {
		fmt.Fprintf(&sb, "You have %d open %s of your own.\n", mine, countNoun(mine, "request", "requests"))
	}
	text := sb.String()
	bl := []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, cut(text, 2900), false, false), nil, nil)}
	if homeLink != "" {
		btn := slack.NewButtonBlockElement(ActTasksOpenHome, "home", slack.NewTextBlockObject(slack.PlainTextType, "Open the App Home", false, false))
		btn.URL = homeLink
		bl = append(bl, slack.NewActionBlock("", btn))
	}
	return text, bl
}

func countNoun(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
