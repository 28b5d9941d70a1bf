package workflow

import "unicode/utf8"

// Ellipsis ends every text that was cut.
const Ellipsis = "…"

// Truncate cuts s to at most n runes; a cut text ends with Ellipsis. It
// never splits a rune. It is the one truncation rule of every package:
// messages that quote what a person typed, card texts, logs.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	i := 0
	for pos := range s {
		if i == n-1 {
			return s[:pos] + Ellipsis
		}
		i++
	}
	return s
}
