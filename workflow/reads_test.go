package workflow_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// TestCountTasksPages checks that a page past the last task reads the last
// page (a Home page that emptied since it was shown), and that a query
// without a Limit is only counted.
func TestCountTasksPages(t *testing.T) {
	f := setup(t)
	for _, res := range []string{"admin", "repo", "nomgr", "fixed", "limited"} {
		f.request(alice, "github", res)
	}
	f.request(bob, "github", "repo")
	mine := workflow.TaskQuery{Requester: alice}
	page := mine
	page.Limit, page.Offset = 2, 10
	res, err := f.e.CountTasks(f.ctx, page, mine, workflow.TaskQuery{Requester: eve, Limit: 2})
	require.NoError(t, err)
	require.Len(t, res, 3)
	assert.Equal(t, 5, res[0].Total)
	assert.Equal(t, 4, res[0].Offset, "the last page starts at the fifth task")
	assert.Len(t, res[0].Tasks, 1)
	assert.Equal(t, 5, res[1].Total)
	assert.Nil(t, res[1].Tasks, "no Limit: counted only")
	assert.Equal(t, 0, res[2].Total)
	assert.Empty(t, res[2].Tasks)

	page.Offset = 2
	res, err = f.e.CountTasks(f.ctx, page)
	require.NoError(t, err)
	assert.Equal(t, 2, res[0].Offset)
	assert.Len(t, res[0].Tasks, 2)
}

func TestEngineGrant(t *testing.T) {
	f := setup(t)
	_, _, err := f.e.Grant(f.ctx, 99)
	assert.Equal(t, workflow.ENOTFOUND, workflow.ErrorCode(err))
}
