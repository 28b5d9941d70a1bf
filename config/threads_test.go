package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func TestThreadsDefaults(t *testing.T) {
	cat, err := Parse([]byte(okPeople + okPolicies + okApps))
	require.NoError(t, err)
	assert.Equal(t, workflow.DefaultThreads(), cat.Threads)

	cat, err = Parse([]byte(okPeople + okPolicies + okApps + "threads:\n  provisioned: [Granted, \"all set\"]\n"))
	require.NoError(t, err)
	assert.Equal(t, []string{"granted", "all set"}, cat.Threads.ProvisionedWords, "lower-cased")
	assert.Equal(t, workflow.DefaultThreads().WontWords, cat.Threads.WontWords, "lists left out keep their defaults")
}

func TestThreadsProblems(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"empty list", "threads:\n  wont: []\n", "threads.wont: give at least one word"},
		{"empty word", "threads:\n  provisioned: [done, \"  \"]\n", "threads.provisioned[1]: empty"},
		{"not a word", "threads:\n  deprovisioned: [\"+1\"]\n", `threads.deprovisioned[0]: "+1" must start with a letter`},
		{"twice", "threads:\n  provisioned: [done, DONE]\n", `threads.provisioned[1]: "DONE" is listed twice`},
		{"both ways", "threads:\n  wont: [done, nope]\n", `threads.wont: "done" is also a provisioned word`},
		{"unknown field", "threads:\n  finished: [done]\n", `unknown field "finished" (allowed here: provisioned, deprovisioned, wont)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(okPeople + okPolicies + okApps + tc.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, strings.ToLower(err.Error()), "panic")
		})
	}
}
