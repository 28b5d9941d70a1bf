package workflow

import (
	"cmp"
	"crypto/ed25519"
	"fmt"
	"slices"
	"strconv"
)

// AuditReadTx is what verifying the audit log reads, all on one snapshot
// (so digests written meanwhile never name heads the walk cannot see).
type AuditReadTx interface {
	// WalkAudit calls fn for every event ordered by (TaskID, Seq).
	WalkAudit(fn func(AuditEvent) error) error
	// WalkDigests calls fn with every stored digest line by seq. It
	// returns an ENOTFOUND error when the database has no digest table
	// (it was never opened by an accessbot that writes digests).
	WalkDigests(fn func(seq int64, line string) error) error
	// TaskNumbers returns the numbers of the tasks there are, ascending,
	// and the highest number ever handed out.
	TaskNumbers() ([]int64, int64, error)
}

// ExternalDigest is a digest read from outside the database (a sink's file
// or a log); Where says where, for messages ("digests.log line 12").
type ExternalDigest struct {
	Where  string
	Digest Digest
}

// VerifyOptions are what verify is given besides the database.
type VerifyOptions struct {
	// Keys check the digests' signatures (none: signatures are not checked).
	Keys []ed25519.PublicKey
	// External are digests from outside the database; where the database's
	// copy differs, the external one is believed.
	External []ExternalDigest
}

// AuditReport is what VerifyAudit found.
type AuditReport struct {
	Events, Chains int
	// Problems are the signs of tampering, each naming the chain, the
	// event or the digest.
	Problems []string
	// Digests is how many digests were checked (database and outside,
	// counted once); InDatabase and Outside how many each held.
	Digests, InDatabase, Outside int
	Signed, Unsigned             int
	// NoDigestTable: the database was never opened by an accessbot that
	// writes digests.
	NoDigestTable bool
	// Newest is the newest digest (nil when there is none).
	Newest *DigestBody
	// Uncovered counts events newer than the newest digest: only their
	// chain protects them.
	Uncovered int
}

func (r *AuditReport) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// chainTitle names a chain in messages as ChainVerifier does.
func chainTitle(taskID int64) string {
	if taskID == 0 {
		return "admin chain"
	}
	return fmt.Sprintf("task T-%d", taskID)
}

// headClaim is a digest's record of one chain's head.
type headClaim struct {
	seq    int64
	hash   string
	digest int64
}

type digestEntry struct {
	d     Digest
	where string // where the believed copy came from
	inDB  bool
	ext   bool // a copy from outside was met
}

// deletion is an admin chain record of a task's deletion.
type deletion struct {
	events   int64
	lastHash string
}

// VerifyAudit checks the whole audit log: every chain's sequence, links and
// content; the digest chain (sequence, links, signatures with opts.Keys);
// every chain against the heads the digests recorded (newest events
// deleted, whole chains deleted, chains re-hashed); and tasks whose chain
// is empty or that vanished with the record of their deletion. It returns
// an error only when it could not read; what it found is in the report.
func VerifyAudit(tx AuditReadTx, opts VerifyOptions) (*AuditReport, error) {
	r := &AuditReport{}
	digests, err := r.loadDigests(tx, opts)
	if err != nil {
		return nil, err
	}
	claims, through, throughSeq := r.checkDigests(digests, opts)

	w := chainWalk{r: r, claims: claims, through: through, throughSeq: throughSeq, deletions: map[int64]deletion{}}
	if err := tx.WalkAudit(w.event); err != nil {
		return nil, err
	}
	w.endChain()
	w.goneChains()
	numbers, counter, err := tx.TaskNumbers()
	if err != nil {
		return nil, err
	}
	w.checkTasks(numbers, counter)
	return r, nil
}

// loadDigests reads the database's digests and merges opts.External in by seq.
func (r *AuditReport) loadDigests(tx AuditReadTx, opts VerifyOptions) (map[int64]*digestEntry, error) {
	all := map[int64]*digestEntry{}
	err := tx.WalkDigests(func(seq int64, line string) error {
		r.InDatabase++
		d, err := ParseDigest(line)
		if err != nil {
			r.problem("digest #%d in the database: %v", seq, err)
			return nil
		}
		if d.Body.Seq != seq {
			r.problem("digest #%d in the database says it is digest #%d (digests were renumbered)", seq, d.Body.Seq)
			return nil
		}
		all[seq] = &digestEntry{d: d, where: "the database", inDB: true}
		return nil
	})
	if ErrorCode(err) == ENOTFOUND {
		r.NoDigestTable, err = true, nil
	}
	if err != nil {
		return nil, err
	}
	for _, x := range opts.External {
		r.Outside++
		seq := x.Digest.Body.Seq
		e := all[seq]
		switch {
		case e == nil:
			all[seq] = &digestEntry{d: x.Digest, where: x.Where, ext: true}
			r.problem("digest #%d (%s) is missing from the database: digests were deleted there", seq, x.Where)
		case e.d.Line == x.Digest.Line:
			if !e.ext {
				e.where, e.ext = x.Where, true
			}
		case !e.ext:
			r.problem("digest #%d in the database differs from its copy in %s: the database's was rewritten (the copy in %s is believed)", seq, x.Where, x.Where)
			e.d, e.where, e.ext = x.Digest, x.Where, true
		default:
			r.problem("digest #%d: %s and %s hold different copies of it", seq, e.where, x.Where)
		}
	}
	r.Digests = len(all)
	return all, nil
}

// checkDigests checks the digest chain and returns every chain's recorded
// heads by seq, the newest digest's ThroughEvent and that digest's seq.
func (r *AuditReport) checkDigests(all map[int64]*digestEntry, opts VerifyOptions) (map[int64][]headClaim, int64, int64) {
	seqs := make([]int64, 0, len(all))
	for s := range all {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	claims := map[int64][]headClaim{}
	var through, throughSeq int64
	firstSigned := int64(0)
	var prev *digestEntry
	next := int64(1)
	for _, s := range seqs {
		e := all[s]
		for ; next < s; next++ {
			r.problem("digest #%d is missing (neither in the database nor outside it): it was deleted", next)
		}
		next = s + 1
		switch {
		case s == 1 && e.d.Body.Prev != "":
			r.problem("digest #1 (%s) names a previous digest: digests before it were deleted", e.where)
		case prev != nil && prev.d.Body.Seq == s-1 && e.d.Body.Prev != prev.d.Hash:
			r.problem("digest #%d (%s) does not chain to digest #%d: one of them was altered or replaced", s, e.where, s-1)
		}
		if e.d.Signed() {
			r.Signed++
			if firstSigned == 0 {
				firstSigned = s
			}
		} else {
			r.Unsigned++
		}
		if len(opts.Keys) > 0 {
			switch {
			case e.d.Signed():
				if err := e.d.VerifySignature(opts.Keys); err != nil {
					r.problem("digest #%d (%s): %v", s, e.where, err)
				}
			case firstSigned != 0:
				r.problem("digest #%d (%s) is not signed, though digests were signed from #%d on: it was forged or the key was taken away from serve", s, e.where, firstSigned)
			}
		}
		for _, h := range e.d.Body.Heads {
			id, err := ParseChainLabel(h.Chain)
			if err != nil {
				r.problem("digest #%d (%s): %v", s, e.where, err)
				continue
			}
			c := claims[id]
			if n := len(c); n > 0 && c[n-1].seq > h.Seq {
				r.problem("%s: digest #%d records event %d as its newest, but digest #%d recorded event %d: the chain lost events between them", chainTitle(id), s, h.Seq, c[n-1].digest, c[n-1].seq)
			}
			claims[id] = append(c, headClaim{seq: h.Seq, hash: h.Hash, digest: s})
		}
		through, throughSeq = max(through, e.d.Body.ThroughEvent), s
		prev = e
	}
	if len(seqs) > 0 {
		newest := all[seqs[len(seqs)-1]].d.Body
		r.Newest = &newest
		if len(opts.Keys) > 0 && !all[seqs[len(seqs)-1]].d.Signed() && firstSigned == 0 {
			r.problem("no digest is signed, but a public key was given: serve was not given the private key (ACCESSBOT_AUDIT_KEY), or the digests were replaced")
		}
	}
	for id := range claims {
		slices.SortStableFunc(claims[id], func(a, b headClaim) int { return cmp.Compare(a.seq, b.seq) })
	}
	return claims, through, throughSeq
}

// chainWalk checks events as WalkAudit hands them over.
type chainWalk struct {
	r          *AuditReport
	claims     map[int64][]headClaim
	through    int64 // events up to this id were there when the newest digest was written
	throughSeq int64

	v          ChainVerifier
	task       int64
	started    bool
	broken     bool
	last       AuditEvent
	claim      int // claims[task][claim] is the next to meet
	diverged   bool
	good       int64 // the newest event a digest vouches for, and that digest
	goodDigest int64
	seen       []int64 // chains met, ascending
	deletions  map[int64]deletion
}

func (w *chainWalk) event(e AuditEvent) error {
	if !w.started || e.TaskID != w.task {
		w.endChain()
		w.task, w.started, w.broken, w.claim, w.diverged, w.good, w.goodDigest = e.TaskID, true, false, 0, false, 0, 0
		w.seen = append(w.seen, e.TaskID)
		w.r.Chains++
	}
	w.r.Events++
	if w.broken {
		return nil
	}
	if err := w.v.Check(e); err != nil {
		w.r.Problems = append(w.r.Problems, err.Error())
		w.broken = true
		return nil
	}
	w.last = e
	claims := w.claims[e.TaskID]
	for w.claim < len(claims) && claims[w.claim].seq <= e.Seq {
		c := claims[w.claim]
		w.claim++
		if c.seq != e.Seq || w.diverged {
			continue
		}
		if c.hash == e.Hash {
			w.good, w.goodDigest = c.seq, c.digest
			continue
		}
		w.diverged = true
		since := "from its first event"
		if w.good > 0 {
			since = fmt.Sprintf("after event %d (which digest #%d vouches for)", w.good, w.goodDigest)
		}
		w.r.problem("%s: event %d (id %d, %s) is not the event digest #%d recorded (its hash differs): events %s up to %d were rewritten and re-hashed", chainTitle(e.TaskID), e.Seq, e.ID, e.Action, c.digest, since, e.Seq)
	}
	if len(claims) == 0 || claims[len(claims)-1].seq < e.Seq {
		// Newer than every digest of its chain.
		if w.through > 0 && e.ID <= w.through {
			w.r.problem("%s: event %d (id %d, %s) was in the database when digest #%d was written, yet no digest covers it: it was inserted afterwards", chainTitle(e.TaskID), e.Seq, e.ID, e.Action, w.throughSeq)
		} else {
			w.r.Uncovered++
		}
	}
	if e.TaskID == 0 && e.Action == ActDeleted {
		if n, err := ParseNumber(e.Details["task"]); err == nil {
			ev, _ := strconv.ParseInt(e.Details["events"], 10, 64)
			w.deletions[n] = deletion{events: ev, lastHash: e.Details["last_hash"]}
		}
	}
	return nil
}

// endChain checks that the chain just walked reaches every head the
// digests recorded for it.
func (w *chainWalk) endChain() {
	if !w.started || w.broken {
		return
	}
	claims := w.claims[w.task]
	if w.claim < len(claims) {
		c := claims[len(claims)-1]
		w.r.problem("%s: its newest events were deleted: digest #%d recorded event %d, the chain ends at event %d (id %d, %s)", chainTitle(w.task), c.digest, c.seq, w.last.Seq, w.last.ID, w.last.Action)
	}
}

// goneChains reports chains the digests recorded that have no event left,
// unless the admin chain records their deletion.
func (w *chainWalk) goneChains() {
	ids := make([]int64, 0, len(w.claims))
	for id := range w.claims {
		if _, ok := slices.BinarySearch(w.seen, id); !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		c := w.claims[id][len(w.claims[id])-1]
		del, ok := w.deletions[id]
		switch {
		case id == 0:
			w.r.problem("admin chain: the whole chain was deleted: digest #%d recorded event %d", c.digest, c.seq)
		case !ok:
			w.r.problem("task T-%d: the whole chain was deleted: digest #%d recorded event %d, and the admin chain has no record of deleting T-%d", id, c.digest, c.seq, id)
		case del.events < c.seq || (del.events == c.seq && del.lastHash != c.hash):
			w.r.problem("task T-%d: its deletion record on the admin chain (%d events, last hash %.12s…) does not match digest #%d (event %d, hash %.12s…)", id, del.events, del.lastHash, c.digest, c.seq, c.hash)
		}
	}
}

// checkTasks reports tasks whose chain is empty, and numbers handed out
// that have neither a task, nor a chain, nor a record of their deletion.
func (w *chainWalk) checkTasks(numbers []int64, counter int64) {
	for _, id := range numbers {
		if _, ok := slices.BinarySearch(w.seen, id); !ok {
			w.r.problem("task T-%d: the task exists but its audit chain is empty: the whole chain was deleted", id)
		}
	}
	for id := int64(1); id <= counter; id++ {
		if _, ok := slices.BinarySearch(numbers, id); ok {
			continue
		}
		if _, ok := slices.BinarySearch(w.seen, id); ok {
			continue
		}
		if _, ok := w.deletions[id]; !ok {
			w.r.problem("task T-%d: no task, no audit chain and no record of its deletion on the admin chain: the task and the record of deleting it were removed", id)
		}
	}
}
