package bot

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseMention(t *testing.T) {
	for _, tc := range []struct {
		in, id string
		ok     bool
	}{
		{"<@U123ABC>", "U123ABC", true},
		{"<@U123ABC|jane>", "U123ABC", true},
		{"<@W0ENTERPRISE|jane.doe>", "W0ENTERPRISE", true},
		{"@jane", "", false},
		{"<#C123|general>", "", false},
		{"<@U123", "", false},
		{"<!here>", "", false},
		{"", "", false},
	} {
		id, ok := parseMention(tc.in)
		assert.Equal(t, tc.ok, ok, tc.in)
		assert.Equal(t, tc.id, id, tc.in)
	}
}

func TestParseTaskRef(t *testing.T) {
	for _, tc := range []struct {
		in string
		id int64
	}{{"T-12", 12}, {"t-12", 12}, {"12", 12}, {"T-abc", 0}, {"-3", 0}, {"", 0}} {
		id, err := parseTaskRef(tc.in)
		if tc.id == 0 {
			assert.Error(t, err, tc.in)
			assert.Contains(t, err.Error(), "T-12", "the message shows the right form")
			continue
		}
		assert.NoError(t, err, tc.in)
		assert.Equal(t, tc.id, id, tc.in)
	}
}

func TestNearest(t *testing.T) {
	names := []string{"github", "gitlab", "vpn", "aws-prod", "aws-staging"}
	assert.Equal(t, []string{"github"}, nearest("githb", names, 3)[:1])
	assert.Contains(t, nearest("aws", names, 3), "aws-prod")
	assert.Empty(t, nearest("zzzzzzzz", names, 3))
	assert.Equal(t, " Did you mean `vpn`?", closest("vnp", []string{"vpn", "github"}))
}
