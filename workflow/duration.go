package workflow

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Permanent is the duration of access that never expires. The zero duration
// means "not given" (use the default).
const Permanent time.Duration = -1

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// ParseDuration reads the durations people type: 30m, 8h, 2d, 1w (whole
// numbers of one unit) or "permanent".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "permanent" {
		return Permanent, nil
	}
	if len(s) < 2 {
		return 0, fmt.Errorf("%q is not a duration: use a number and a unit, like 30m, 8h, 2d or 1w, or \"permanent\"", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a duration: use a positive whole number and a unit, like 30m, 8h, 2d or 1w, or \"permanent\"", s)
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = day
	case 'w':
		unit = week
	default:
		return 0, fmt.Errorf("%q has an unknown unit: use m (minutes), h (hours), d (days) or w (weeks), like 8h or 2d", s)
	}
	// Bounded before multiplying: 30501w overflows int64 into a few days.
	if int64(n) > int64(MaxParsedDuration/unit) {
		return 0, fmt.Errorf("%q is longer than accessbot handles (at most %s, about 100 years): ask for \"permanent\" access instead", s, FormatDuration(MaxParsedDuration))
	}
	return time.Duration(n) * unit, nil
}

// MaxParsedDuration is the longest duration ParseDuration reads: 5200
// weeks, about 100 years. Longer access is "permanent".
const MaxParsedDuration = 5200 * week

// FormatDuration writes d the way ParseDuration reads it, in the largest
// unit that divides it.
func FormatDuration(d time.Duration) string {
	switch {
	case d == Permanent:
		return "permanent"
	case d <= 0:
		return "none"
	case d%week == 0:
		return fmt.Sprintf("%dw", d/week)
	case d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	default:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
}

// longer reports whether a is longer than b, Permanent being the longest.
func longer(a, b time.Duration) bool {
	if a == Permanent {
		return b != Permanent
	}
	if b == Permanent {
		return false
	}
	return a > b
}
