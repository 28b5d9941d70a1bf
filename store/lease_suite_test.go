package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// enqueue writes notices of task id (0: no order) and returns their ids.
func enqueue(t *testing.T, db *DB, taskIDs ...int64) []int64 {
	t.Helper()
	var ids []int64
	update(t, db, func(tx workflow.Tx) error {
		for _, id := range taskIDs {
			n := &workflow.Notice{Payload: workflow.TaskChanged{}, TaskID: id}
			if err := tx.Enqueue(n); err != nil {
				return err
			}
			ids = append(ids, n.ID)
		}
		return nil
	})
	return ids
}

func claimIDs(t *testing.T, db *DB, owner string, at time.Time, ttl time.Duration) []int64 {
	t.Helper()
	ns, err := db.ClaimNotices(context.Background(), owner, at, ttl, 100)
	require.NoError(t, err)
	var ids []int64
	for _, n := range ns {
		require.Equal(t, workflow.NoticeLeased, n.State)
		ids = append(ids, n.ID)
	}
	return ids
}

// testOutboxLifecycle walks a notice through every state: a lease that
// ends is taken over, the stale worker's outcome is refused (nothing
// recorded), a notice dies after N attempts and no longer holds back its
// task, and the prune keeps everything not delivered.
func testOutboxLifecycle(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	base := micro(clock.Now())
	ids := enqueue(t, db, 1, 1, 2)

	// w1 claims; the lease ends (w1 died or stalled); w2 takes over.
	require.Equal(t, []int64{ids[0], ids[2]}, claimIDs(t, db, "w1", base, 10*time.Second))
	require.Empty(t, claimIDs(t, db, "w2", base.Add(9*time.Second), 10*time.Second), "held while the lease runs")
	require.Equal(t, []int64{ids[0], ids[2]}, claimIDs(t, db, "w2", base.Add(11*time.Second), 10*time.Second), "taken over after the lease")

	// The stale worker's outcome is refused, and changes nothing.
	requireCode(t, workflow.ECONFLICT, db.NoticeDelivered(ctx, ids[0], "w1", base))
	_, err := db.NoticeFailed(ctx, ids[0], "w1", base, "late", 3)
	requireCode(t, workflow.ECONFLICT, err)
	requireCode(t, workflow.ECONFLICT, db.ReleaseNotice(ctx, ids[0], "w1"))
	counts, err := db.NoticeCounts(ctx)
	require.NoError(t, err)
	require.Equal(t, map[workflow.NoticeState]int{workflow.NoticeLeased: 2, workflow.NoticePending: 1}, counts)
	require.NoError(t, db.NoticeDelivered(ctx, ids[2], "w2", base.Add(12*time.Second)))
	// Delivered once: a second outcome is refused.
	requireCode(t, workflow.ECONFLICT, db.NoticeDelivered(ctx, ids[2], "w2", base))

	// Dead after 3 attempts; T-1's second notice then goes.
	at := base.Add(12 * time.Second)
	for attempt := 1; attempt <= 3; attempt++ {
		if attempt > 1 {
			require.Equal(t, []int64{ids[0]}, claimIDs(t, db, "w2", at, 10*time.Second), "attempt %d", attempt)
		}
		state, err := db.NoticeFailed(ctx, ids[0], "w2", at, "slack down", 3)
		require.NoError(t, err)
		want := workflow.NoticePending
		if attempt == 3 {
			want = workflow.NoticeDead
		}
		require.Equal(t, want, state, "after attempt %d", attempt)
	}
	require.Equal(t, []int64{ids[1]}, claimIDs(t, db, "w2", at, 10*time.Second), "a dead notice does not hold its task back")
	depth, _, err := db.OutboxStats(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, depth, "dead notices are not waiting")

	// A released notice is due again at once, no attempt counted.
	require.NoError(t, db.ReleaseNotice(ctx, ids[1], "w2"))
	ns, err := db.DueNotices(ctx, at, 10)
	require.NoError(t, err)
	require.Len(t, ns, 1)
	require.Equal(t, 0, ns[0].Attempts)
	require.Equal(t, workflow.NoticePending, ns[0].State)

	// The prune deletes delivered rows past the retention only.
	n, err := db.PruneOutbox(ctx, base.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "only the delivered one")
	counts, err = db.NoticeCounts(ctx)
	require.NoError(t, err)
	require.Equal(t, map[workflow.NoticeState]int{workflow.NoticeDead: 1, workflow.NoticePending: 1}, counts)
}

// testLeaseTakeover: a live owner's heartbeat keeps its leases (notices,
// envelopes, card claims) past their first end; once the heartbeat stops,
// another owner takes them one lease later.
func testLeaseTakeover(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	base := micro(clock.Now())
	ttl := 10 * time.Second
	ids := enqueue(t, db, 0)
	require.Equal(t, ids, claimIDs(t, db, "live", base, ttl))
	fresh, err := db.StoreEnvelopes(ctx, "live", base.Add(ttl), []workflow.Envelope{{ID: "E1", Type: "interactive", Payload: []byte("{}"), ReceivedAt: base}}, nil, base)
	require.NoError(t, err)
	require.Equal(t, []bool{true}, fresh)
	card := &workflow.Card{TaskID: 1, Role: workflow.CardAssignee, Email: "bob@x.com", Step: 0, Channel: "D1"}
	claimed, err := db.ClaimCard(ctx, card, "live", base, base.Add(ttl))
	require.NoError(t, err)
	require.True(t, claimed)
	require.True(t, card.UpdatedAt.IsZero(), "a new claim: nothing can have been posted")

	// A slow call: the heartbeat renews at 8 s, 16 s, 24 s...
	for beat := 1; beat <= 3; beat++ {
		now := base.Add(time.Duration(beat) * 8 * time.Second)
		n, err := db.RenewLeases(ctx, "live", now.Add(ttl))
		require.NoError(t, err)
		require.Equal(t, int64(3), n, "a notice, an envelope and a card claim")
		require.Empty(t, claimIDs(t, db, "other", now.Add(time.Second), ttl))
		envs, err := db.ClaimEnvelopes(ctx, "other", now.Add(time.Second), now.Add(ttl), 10)
		require.NoError(t, err)
		require.Empty(t, envs)
		other := &workflow.Card{TaskID: 1, Role: workflow.CardAssignee, Email: "bob@x.com", Step: 0, Channel: "D1"}
		_, err = db.ClaimCard(ctx, other, "other", now.Add(time.Second), now.Add(ttl))
		requireCode(t, workflow.ECONFLICT, err)
	}
	// The heartbeat stops (the process died at 24 s): taken at 35 s.
	dead := base.Add(24*time.Second + ttl + time.Second)
	require.Equal(t, ids, claimIDs(t, db, "other", dead, ttl))
	envs, err := db.ClaimEnvelopes(ctx, "other", dead, dead.Add(ttl), 10)
	require.NoError(t, err)
	require.Len(t, envs, 1)
	require.Equal(t, 2, envs[0].Attempts)
	other := &workflow.Card{TaskID: 1, Role: workflow.CardAssignee, Email: "bob@x.com", Step: 0, Channel: "D1"}
	claimed, err = db.ClaimCard(ctx, other, "other", dead, dead.Add(ttl))
	require.NoError(t, err)
	require.True(t, claimed)
	require.Equal(t, card.ID, other.ID, "the same claim row, taken over")
	require.True(t, other.UpdatedAt.Equal(base), "when the dead owner claimed it (it may have posted since): %v", other.UpdatedAt)
	// The dead owner records nothing.
	requireCode(t, workflow.ECONFLICT, db.NoticeDelivered(ctx, ids[0], "live", dead))
	n, err := db.RenewLeases(ctx, "live", dead.Add(ttl))
	require.NoError(t, err)
	require.Zero(t, n, "nothing left to renew")
}

// testInbox: envelopes are stored once (by envelope id and by event id),
// marked done, finished by another owner only when nobody holds them, and
// pruned once done.
func testInbox(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	base := micro(clock.Now())
	until := base.Add(10 * time.Second)
	envs := []workflow.Envelope{
		{ID: "E1", Type: "interactive", Payload: []byte(`{"a":1}`), ReceivedAt: base},
		{ID: "E2", EventID: "Ev1", Type: "events_api", Payload: []byte(`{}`), ReceivedAt: base},
		{ID: "E1", Type: "interactive", Payload: []byte(`{"a":1}`), ReceivedAt: base}, // the same, twice in one group
	}
	fresh, err := db.StoreEnvelopes(ctx, "w1", until, envs, nil, base)
	require.NoError(t, err)
	require.Equal(t, []bool{true, true, false}, fresh)
	fresh, err = db.StoreEnvelopes(ctx, "w1", until, []workflow.Envelope{
		{ID: "E1", Type: "interactive", Payload: []byte(`{}`), ReceivedAt: base},                // redelivered
		{ID: "E3", EventID: "Ev1", Type: "events_api", Payload: []byte(`{}`), ReceivedAt: base}, // same event, new envelope
		{ID: "E4", Type: "slash_commands", Payload: []byte(`{}`), ReceivedAt: base},
	}, []string{"E2"}, base)
	require.NoError(t, err)
	require.Equal(t, []bool{false, false, true}, fresh)
	open_, done, err := db.InboxStats(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, open_)
	require.Equal(t, 1, done)

	// w1 dies: after the lease, w2 finishes E1 and E4, oldest first, with
	// their payload.
	got, err := db.ClaimEnvelopes(ctx, "w2", base.Add(5*time.Second), until, 10)
	require.NoError(t, err)
	require.Empty(t, got)
	later := base.Add(11 * time.Second)
	got, err = db.ClaimEnvelopes(ctx, "w2", later, later.Add(10*time.Second), 10)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "E1", got[0].ID)
	require.Equal(t, `{"a":1}`, string(got[0].Payload))
	require.Equal(t, "interactive", got[0].Type)
	require.Equal(t, 2, got[0].Attempts)
	_, err = db.StoreEnvelopes(ctx, "w2", time.Time{}, nil, []string{"E1", "E4"}, later)
	require.NoError(t, err)

	n, err := db.PruneInbox(ctx, base.Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "E2, done at base")
	n, err = db.PruneInbox(ctx, later.Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
}

// testInboxReceipt: the engine transaction that records an envelope's
// effect marks it done; replaying it changes nothing (ECONFLICT, rolled
// back), and a second transaction of the same run goes through.
func testInboxReceipt(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	base := micro(clock.Now())
	_, err := db.StoreEnvelopes(ctx, "w1", base.Add(time.Minute), []workflow.Envelope{{ID: "E1", Type: "interactive", Payload: []byte("{}"), ReceivedAt: base}}, nil, base)
	require.NoError(t, err)
	write := func(ctx context.Context, email string) error {
		return db.Update(ctx, func(tx workflow.Tx) error {
			return tx.PutDelegation(&workflow.Delegation{Email: email, Delegate: "d@x.com", Active: true, SetAt: base})
		})
	}
	rc := &workflow.Receipt{ID: "E1"}
	rctx := workflow.WithReceipt(ctx, rc)
	// A refused operation records nothing, the envelope stays open.
	err = db.Update(rctx, func(tx workflow.Tx) error { return workflow.Errorf(workflow.EFORBIDDEN, "no") })
	requireCode(t, workflow.EFORBIDDEN, err)
	require.False(t, rc.Recorded())
	require.NoError(t, write(rctx, "a@x.com"))
	require.True(t, rc.Recorded())
	require.NoError(t, write(rctx, "b@x.com"), "the same run's next transaction")
	open_, done, err := db.InboxStats(ctx)
	require.NoError(t, err)
	require.Equal(t, []int{0, 1}, []int{open_, done})

	// A replay of E1 (its effect committed) writes nothing.
	replay := workflow.WithReceipt(ctx, &workflow.Receipt{ID: "E1"})
	requireCode(t, workflow.ECONFLICT, write(replay, "c@x.com"))
	require.NoError(t, db.View(ctx, func(tx workflow.ReadTx) error {
		_, err := tx.Delegation("c@x.com")
		requireCode(t, workflow.ENOTFOUND, err)
		return nil
	}))
	// An envelope the inbox does not hold (pruned) is let through.
	require.NoError(t, write(workflow.WithReceipt(ctx, &workflow.Receipt{ID: "gone"}), "d2@x.com"))
}

// testCardClaims: a card is claimed once; a second poster waits while the
// claim lives, updates once it is posted, and a released claim is gone.
func testCardClaims(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	base := micro(clock.Now())
	until := base.Add(10 * time.Second)
	want := func() *workflow.Card {
		return &workflow.Card{TaskID: 1, Role: workflow.CardAssignee, Email: "bob@x.com", Step: 0, Channel: "D1"}
	}
	a := want()
	claimed, err := db.ClaimCard(ctx, a, "w1", base, until)
	require.NoError(t, err)
	require.True(t, claimed)
	again := want()
	claimed, err = db.ClaimCard(ctx, again, "w1", base, until)
	require.NoError(t, err)
	require.True(t, claimed, "its own claim: a retry of the same owner")
	require.Equal(t, a.ID, again.ID)
	require.True(t, again.UpdatedAt.Equal(base), "claimed before")
	_, err = db.ClaimCard(ctx, want(), "w2", base, until)
	requireCode(t, workflow.ECONFLICT, err)
	cards, err := db.Cards(ctx, 1)
	require.NoError(t, err)
	require.Empty(t, cards, "a claim is not a card yet")

	a.TS, a.Revision = "1.1", 3
	require.NoError(t, db.SaveCard(ctx, a))
	b := want()
	claimed, err = db.ClaimCard(ctx, b, "w2", base, until)
	require.NoError(t, err)
	require.False(t, claimed, "posted: update it instead")
	require.Equal(t, "1.1", b.TS)
	require.Equal(t, int64(3), b.Revision)
	n, err := db.RenewLeases(ctx, "w1", until)
	require.NoError(t, err)
	require.Zero(t, n, "a posted card holds no lease")

	// A failed post releases its claim; the next poster claims anew.
	c := &workflow.Card{TaskID: 2, Role: workflow.CardChannel, Step: 1, Channel: "C1"}
	claimed, err = db.ClaimCard(ctx, c, "w1", base, until)
	require.NoError(t, err)
	require.True(t, claimed)
	require.NoError(t, db.ReleaseCard(ctx, c.ID, "w1"))
	d := &workflow.Card{TaskID: 2, Role: workflow.CardChannel, Step: 1, Channel: "C1"}
	claimed, err = db.ClaimCard(ctx, d, "w2", base, until)
	require.NoError(t, err)
	require.True(t, claimed)
	require.NotEqual(t, c.ID, d.ID)
}

// testUpdateBatch: operations committed together are isolated: a failed
// one leaves nothing (also not the chain head it appended), the others
// commit, and only their receipts are marked.
func testUpdateBatch(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	base := micro(clock.Now())
	_, err := db.StoreEnvelopes(ctx, "w", base.Add(time.Minute), []workflow.Envelope{
		{ID: "E1", Type: "interactive", Payload: []byte("{}"), ReceivedAt: base},
		{ID: "E2", Type: "interactive", Payload: []byte("{}"), ReceivedAt: base},
		{ID: "E3", Type: "interactive", Payload: []byte("{}"), ReceivedAt: base},
	}, nil, base)
	require.NoError(t, err)
	appendOn := func(fail bool) func(tx workflow.Tx) error {
		return func(tx workflow.Tx) error {
			seq, hash, err := tx.AuditHead(0)
			if err != nil {
				return err
			}
			ev := &workflow.AuditEvent{TaskID: 0, Seq: seq + 1, At: tx.Now(), Actor: "x", Action: workflow.ActReminded, PrevHash: hash}
			ev.Hash = ev.ComputeHash()
			if err := tx.AppendAudit(ev); err != nil {
				return err
			}
			if fail {
				return workflow.Errorf(workflow.EFORBIDDEN, "refused after writing")
			}
			return nil
		}
	}
	rcs := []*workflow.Receipt{{ID: "E1"}, {ID: "E2"}, {ID: "E3"}}
	errs := db.UpdateBatch(ctx, []workflow.BatchItem{
		{Ctx: workflow.WithReceipt(ctx, rcs[0]), Fn: appendOn(false)},
		{Ctx: workflow.WithReceipt(ctx, rcs[1]), Fn: appendOn(true)},
		{Ctx: workflow.WithReceipt(ctx, rcs[2]), Fn: appendOn(false)},
	})
	require.NoError(t, errs[0])
	requireCode(t, workflow.EFORBIDDEN, errs[1])
	require.NoError(t, errs[2])
	require.Equal(t, []bool{true, false, true}, []bool{rcs[0].Recorded(), rcs[1].Recorded(), rcs[2].Recorded()})
	var evs []workflow.AuditEvent
	require.NoError(t, db.View(ctx, func(tx workflow.ReadTx) (err error) {
		evs, err = tx.AuditEvents(0)
		return err
	}))
	require.Len(t, evs, 2, "the refused operation's event is gone")
	require.Equal(t, evs[0].Hash, evs[1].PrevHash, "the chain holds across the batch")
	open_, done, err := db.InboxStats(ctx)
	require.NoError(t, err)
	require.Equal(t, []int{1, 2}, []int{open_, done})
	// A replay of E1 in a batch is refused; E2's first effect goes through.
	errs = db.UpdateBatch(ctx, []workflow.BatchItem{
		{Ctx: workflow.WithReceipt(ctx, &workflow.Receipt{ID: "E1"}), Fn: appendOn(false)},
		{Ctx: workflow.WithReceipt(ctx, &workflow.Receipt{ID: "E2"}), Fn: appendOn(false)},
	})
	requireCode(t, workflow.ECONFLICT, errs[0])
	require.NoError(t, errs[1])
}
