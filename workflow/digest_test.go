package workflow_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/store"
	"accessbot/workflow"
)

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return k
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// TestDigestSignature: a digest parses back to what was made; its
// signature verifies with its key only; any changed byte of its body is
// caught, by the hash or, re-hashed, by the signature.
func TestDigestSignature(t *testing.T) {
	t.Parallel()
	key, other := newKey(t), newKey(t)
	body := workflow.DigestBody{Seq: 4, At: time.Date(2026, 11, 23, 10, 0, 0, 0, time.FixedZone("CET", 3600)), Prev: strings.Repeat("a", 64),
		ThroughEvent: 99, Heads: []workflow.DigestHead{{Chain: "admin", Seq: 2, Hash: strings.Repeat("b", 64)}, {Chain: "T-7", Seq: 5, Hash: strings.Repeat("c", 64)}}}
	d, err := workflow.MakeDigest(body, key)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(d.Line, workflow.DigestMarker))
	assert.NotContains(t, d.Line, "\n", "one line")

	got, err := workflow.ParseDigest(d.Line)
	require.NoError(t, err)
	assert.Equal(t, d.Hash, got.Hash)
	assert.Equal(t, body.Heads, got.Body.Heads)
	assert.Equal(t, workflow.KeyFingerprint(pub(key)), got.Body.Key)
	assert.True(t, got.Body.At.Equal(body.At))
	require.NoError(t, got.VerifySignature([]ed25519.PublicKey{pub(other), pub(key)}), "found among several keys")
	err = got.VerifySignature([]ed25519.PublicKey{pub(other)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not among the public keys")

	// An edited body: the hash no longer matches.
	_, err = workflow.ParseDigest(strings.Replace(d.Line, `"seq":5`, `"seq":6`, 1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hash is not the hash of its body")

	// An edited body with its hash recomputed and the signature kept:
	// the signature fails.
	edited := got.Body
	edited.Heads = []workflow.DigestHead{body.Heads[0], {Chain: "T-7", Seq: 4, Hash: body.Heads[1].Hash}}
	eb, err := json.Marshal(edited)
	require.NoError(t, err)
	sum := sha256.Sum256(eb)
	sig := d.Line[strings.Index(d.Line, `"sig":"`)+7 : len(d.Line)-2]
	forged := workflow.DigestMarker + `1,"body":` + string(eb) + `,"hash":"` + hex.EncodeToString(sum[:]) + `","sig":"` + sig + `"}`
	fd, err := workflow.ParseDigest(forged)
	require.NoError(t, err, "hash and body agree")
	assert.ErrorContains(t, fd.VerifySignature([]ed25519.PublicKey{pub(key)}), "does not verify")

	u, err := workflow.MakeDigest(edited, nil)
	require.NoError(t, err)
	unsigned, err := workflow.ParseDigest(u.Line)
	require.NoError(t, err)
	assert.False(t, unsigned.Signed())
	assert.ErrorContains(t, unsigned.VerifySignature([]ed25519.PublicKey{pub(key)}), "not signed")

	for _, bad := range []string{"", "{}", `{"accessbot_audit_digest":2,"body":{},"hash":"","sig":""}`, d.Line[:len(d.Line)-2]} {
		_, err := workflow.ParseDigest(bad)
		assert.Error(t, err, "%q", bad)
	}
}

// TestDigesterChainsAndSkips: each run digests the heads that changed
// since the one before, chained to it; a run with nothing new writes
// nothing; a failed sink gets the line again on the next run.
func TestDigesterChainsAndSkips(t *testing.T) {
	t.Parallel()
	f := setup(t)
	key := newKey(t)
	var lines []string
	failing := true
	d := &workflow.Digester{Store: f.db, Key: key, Sink: func(l string) error {
		if failing {
			return errors.New("disk full")
		}
		lines = append(lines, l)
		return nil
	}}
	t1 := f.request(alice, "github", "repo")
	res, err := d.Run(f.ctx)
	require.ErrorContains(t, err, "disk full")
	assert.Equal(t, 1, res.Digests, "the digest is stored even when the sink fails")
	failing = false
	res, err = d.Run(f.ctx)
	require.NoError(t, err)
	assert.Zero(t, res.Digests, "nothing changed")
	require.Len(t, lines, 1, "the waiting line was handed over")

	t2 := f.request(bob, "github", "repo")
	f.clock.Advance(time.Minute)
	res, err = d.Run(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, workflow.DigestRun{Digests: 1, Heads: 1, Seq: 2}, res, "only T-2 changed")
	require.Len(t, lines, 2)

	first, err := workflow.ParseDigest(lines[0])
	require.NoError(t, err)
	second, err := workflow.ParseDigest(lines[1])
	require.NoError(t, err)
	assert.Empty(t, first.Body.Prev)
	assert.Equal(t, first.Hash, second.Body.Prev, "chained")
	assert.Equal(t, []string{t1.Number()}, heads(first))
	assert.Equal(t, []string{t2.Number()}, heads(second))
	last := f.events(t2.ID)
	assert.Equal(t, last[len(last)-1].Hash, second.Body.Heads[0].Hash)
	assert.Equal(t, last[len(last)-1].Seq, second.Body.Heads[0].Seq)
	for _, dg := range []workflow.Digest{first, second} {
		require.NoError(t, dg.VerifySignature([]ed25519.PublicKey{pub(key)}))
	}
	var stored []string
	require.NoError(t, f.db.ViewAudit(f.ctx, func(tx workflow.AuditReadTx) error {
		return tx.WalkDigests(func(_ int64, l string) error { stored = append(stored, l); return nil })
	}))
	assert.Equal(t, lines, stored, "the database holds the very lines the sink got")

	// An admin action moves the admin chain.
	_, err = f.e.Cancel(f.ctx, workflow.AdminInput{TaskID: t1.ID, Actor: admin, Reason: "x"})
	require.NoError(t, err)
	res, err = d.Run(f.ctx)
	require.NoError(t, err)
	third, err := workflow.ParseDigest(lines[2])
	require.NoError(t, err)
	assert.Contains(t, heads(third), "admin")
	assert.Contains(t, heads(third), t1.Number())
	assert.Equal(t, 3, int(res.Seq))
}

// TestDigesterSplitsManyHeads: more changed chains than a digest holds
// take several digests, chained, covering each chain once.
func TestDigesterSplitsManyHeads(t *testing.T) {
	t.Parallel()
	f := setup(t)
	n := workflow.MaxDigestHeads + 5
	require.NoError(t, f.db.Update(f.ctx, func(tx workflow.Tx) error {
		for i := range n {
			if err := tx.AppendAudit(&workflow.AuditEvent{TaskID: int64(i + 1), Actor: "x", Action: workflow.ActCommented}); err != nil {
				return err
			}
		}
		return nil
	}))
	var lines []string
	d := &workflow.Digester{Store: f.db, Sink: func(l string) error { lines = append(lines, l); return nil }}
	res, err := d.Run(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, workflow.DigestRun{Digests: 2, Heads: n, Seq: 2}, res)
	a, err := workflow.ParseDigest(lines[0])
	require.NoError(t, err)
	b, err := workflow.ParseDigest(lines[1])
	require.NoError(t, err)
	assert.Len(t, a.Body.Heads, workflow.MaxDigestHeads)
	assert.Len(t, b.Body.Heads, 5)
	assert.Equal(t, a.Hash, b.Body.Prev)
	assert.Empty(t, a.Body.Key, "no key: unsigned")
	assert.False(t, a.Signed())
}

func heads(d workflow.Digest) []string {
	var out []string
	for _, h := range d.Body.Heads {
		out = append(out, h.Chain)
	}
	return out
}

// benchAudit fills a database with events on chains 1..chains, per each.
func benchAudit(b *testing.B, chains, per int) *store.DB {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), nil)
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	require.NoError(b, db.Update(ctx, func(tx workflow.Tx) error {
		for i := range chains * per {
			if err := tx.AppendAudit(&workflow.AuditEvent{TaskID: int64(i%chains) + 1, Actor: "a", Action: workflow.ActCommented, Comment: strconv.Itoa(i)}); err != nil {
				return err
			}
		}
		return nil
	}))
	return db
}

// BenchmarkDigesterRun: one signed digest run after 100 of 20,000 chains
// moved on (the steady state of the interval job).
func BenchmarkDigesterRun(b *testing.B) {
	ctx := context.Background()
	db := benchAudit(b, 20_000, 5)
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(b, err)
	d := &workflow.Digester{Store: db, Key: k, Sink: func(string) error { return nil }}
	_, err = d.Run(ctx)
	require.NoError(b, err)
	for b.Loop() {
		b.StopTimer()
		require.NoError(b, db.Update(ctx, func(tx workflow.Tx) error {
			for i := range 100 {
				if err := tx.AppendAudit(&workflow.AuditEvent{TaskID: int64(i) + 1, Actor: "a", Action: workflow.ActCommented}); err != nil {
					return err
				}
			}
			return nil
		}))
		b.StartTimer()
		res, err := d.Run(ctx)
		require.NoError(b, err)
		require.Equal(b, 100, res.Heads)
	}
}

// BenchmarkVerifyAudit: the whole check of 100,000 events in 20,000
// chains with their digests and signatures.
func BenchmarkVerifyAudit(b *testing.B) {
	ctx := context.Background()
	db := benchAudit(b, 20_000, 5)
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(b, err)
	_, err = (&workflow.Digester{Store: db, Key: k}).Run(ctx)
	require.NoError(b, err)
	opts := workflow.VerifyOptions{Keys: []ed25519.PublicKey{pub(k)}}
	for b.Loop() {
		require.NoError(b, db.ViewAudit(ctx, func(tx workflow.AuditReadTx) error {
			rep, err := workflow.VerifyAudit(tx, opts)
			if err == nil && len(rep.Problems) > 0 {
				b.Fatal(rep.Problems)
			}
			return err
		}))
	}
	b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
