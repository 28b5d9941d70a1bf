package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func testCommentMirrors(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	a := workflow.CommentMirror{TaskID: 1, Seq: 4, Channel: "D1", ThreadTS: "1.1", TS: "1.5"}
	b := workflow.CommentMirror{TaskID: 1, Seq: 4, Channel: "C1", ThreadTS: "2.2", TS: "2.6", PostedAt: micro(clock.Now().Add(time.Second))}
	other := workflow.CommentMirror{TaskID: 1, Seq: 5, Channel: "D1", ThreadTS: "1.1", TS: "1.7"}
	for _, m := range []workflow.CommentMirror{a, b, other} {
		require.NoError(t, db.SaveCommentMirror(ctx, m))
	}
	got, err := db.CommentMirrors(ctx, 1, 4)
	require.NoError(t, err)
	a.PostedAt = micro(clock.Now())
	assert.Equal(t, []workflow.CommentMirror{a, b}, got, "in the order posted; a zero PostedAt takes the clock")

	// A comment goes into a channel once.
	requireCode(t, workflow.ECONFLICT, db.SaveCommentMirror(ctx, workflow.CommentMirror{TaskID: 1, Seq: 4, Channel: "D1", ThreadTS: "1.1", TS: "1.9"}))
	got, err = db.CommentMirrors(ctx, 2, 4)
	require.NoError(t, err)
	assert.Empty(t, got)
}

// A message event in a thread costs one lookup of the card by its message:
// it must use the index, never scan the cards.
func TestCardByMessageUsesTheIndex(t *testing.T) {
	db, _ := openSQLite(t, newClock().Now)
	var plan []struct {
		ID     int    `db:"id"`
		Parent int    `db:"parent"`
		NotUse int    `db:"notused"`
		Detail string `db:"detail"`
	}
	require.NoError(t, db.reader(context.Background()).sel(&plan, "EXPLAIN QUERY PLAN "+cardSelect+" WHERE channel = ? AND ts = ? AND ts <> ''", "C1", "1.1"))
	var details []string
	for _, p := range plan {
		details = append(details, p.Detail)
	}
	assert.Contains(t, strings.Join(details, "\n"), "USING INDEX cards_message", "plan: %v", details)
}
