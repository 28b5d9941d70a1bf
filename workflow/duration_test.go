package workflow

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDurationBounds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "8h", want: 8 * time.Hour},
		{in: "5200w", want: MaxParsedDuration},
		{in: "permanent", want: Permanent},
		// 30501 weeks overflow int64 to about 3 days: it passed a 4w maximum.
		{in: "30501w", err: "longer than accessbot handles"},
		{in: "5201w", err: "longer than accessbot handles"},
		{in: "9223372036854775807m", err: "longer than accessbot handles"},
		{in: "36401d", err: "longer than accessbot handles"},
		{in: "0h", err: "positive whole number"},
		{in: "-3d", err: "positive whole number"},
	} {
		d, err := ParseDuration(tc.in)
		if tc.err != "" {
			require.Error(t, err, tc.in)
			assert.Contains(t, err.Error(), tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, d, tc.in)
	}
}

// FuzzParseDuration: whatever people type, a duration that parses is
// Permanent or positive and at most MaxParsedDuration (no overflow), and
// FormatDuration writes it back the way ParseDuration reads it.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30501w", "8h", "2d", "1w", "30m", "permanent", "5200w", "5201w", "9223372036854775807m", "1e9h", " 4W ", "-1h", "+3d", "0x10h", "", "h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d == Permanent {
			return
		}
		if d <= 0 || d > MaxParsedDuration {
			t.Fatalf("ParseDuration(%q) = %v: outside (0, %v]", s, d, MaxParsedDuration)
		}
		back, err := ParseDuration(FormatDuration(d))
		if err != nil || back != d {
			t.Fatalf("ParseDuration(%q) = %v, written %q, read back %v, %v", s, d, FormatDuration(d), back, err)
		}
		if strings.ContainsAny(FormatDuration(d), "-+") {
			t.Fatalf("FormatDuration(%v) = %q", d, FormatDuration(d))
		}
	})
}

func TestTextRefusesNULAndInvalidUTF8(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, err string }{
		{"fine\x00hidden", "NUL"},
		{"bad \xff\xfe bytes", "not valid UTF-8"},
		{strings.Repeat("x", MaxTextLen+1), "characters long"},
	} {
		_, err := CheckText("reason", tc.in, false)
		require.Error(t, err)
		assert.Equal(t, EINVALID, ErrorCode(err))
		assert.Equal(t, "reason", err.(*Error).Field)
		assert.Contains(t, err.Error(), tc.err)
	}
	got, err := CheckText("reason", " right\u202Eto left ", false)
	require.NoError(t, err, "bidi characters are kept and escaped on display")
	assert.Equal(t, "right\u202Eto left", got)
}
