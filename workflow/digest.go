package workflow

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A digest records the heads (Seq and Hash of the newest event) of the
// audit chains that changed since the digest before it, chains to that
// digest by its hash, and is signed with Ed25519 when a key is configured,
// as CloudTrail's digest files are. A chain's events link to each other by
// hash, so a digest that names a chain's head vouches for every event up to
// it: someone who can write the database can no longer remove a chain's
// newest events, remove a whole chain or re-hash an edited one without the
// digests disagreeing, and without the private key they cannot write
// digests that agree.
//
// A digest is one line of JSON, the same in the database and in the
// operator's sink:
//
//	{"accessbot_audit_digest":1,"body":{…},"hash":"<hex SHA-256 of body>","sig":"<base64 Ed25519 of body>"}
//
// where body is, in this field order, {"seq","at","prev","through_event",
// "key","heads":[{"chain","seq","hash"}…]}: prev is the previous digest's
// hash ("" for the first), key the signing key's fingerprint ("" and sig ""
// when unsigned), chain "admin" or "T-<n>". The hash and the signature are
// over the body's exact bytes as they appear in the line.

// DigestMarker opens every digest line; verify finds digests in a log by it.
const DigestMarker = `{"accessbot_audit_digest":`

// DigestVersion is the format written.
const DigestVersion = 1

// MaxDigestHeads bounds the heads of one digest, so a line stays a size a
// log pipeline carries (~100 bytes a head); more changed chains take
// several digests.
const MaxDigestHeads = 1000

// DigestBody is what a digest says.
type DigestBody struct {
	Seq          int64        `json:"seq"`
	At           time.Time    `json:"at"`
	Prev         string       `json:"prev"`
	ThroughEvent int64        `json:"through_event"`
	Key          string       `json:"key"`
	Heads        []DigestHead `json:"heads"`
}

// DigestHead is one chain's newest event when the digest was written.
type DigestHead struct {
	Chain string `json:"chain"` // "admin" or "T-<n>"
	Seq   int64  `json:"seq"`
	Hash  string `json:"hash"`
}

// Digest is one digest, parsed.
type Digest struct {
	Body DigestBody
	Hash string // hex SHA-256 of the body's bytes
	Sig  []byte // nil when unsigned
	Line string // the whole line, as written
	body []byte // the body's exact bytes
}

// ChainLabel names a chain as digests and the export do: "admin" for the
// admin chain (TaskID 0), "T-<n>" for a task's.
func ChainLabel(taskID int64) string {
	if taskID == 0 {
		return "admin"
	}
	return "T-" + strconv.FormatInt(taskID, 10)
}

// ParseChainLabel is ChainLabel's inverse.
func ParseChainLabel(s string) (int64, error) {
	if s == "admin" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "T-"), 10, 64)
	if err != nil || n <= 0 || !strings.HasPrefix(s, "T-") {
		return 0, fmt.Errorf("chain %q: want admin or T-<n>", s)
	}
	return n, nil
}

// KeyFingerprint names a public key in digests and messages:
// "ed25519:" and the first 8 bytes of its SHA-256, in hex.
func KeyFingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "ed25519:" + hex.EncodeToString(sum[:8])
}

// MakeDigest encodes body as a digest line, signed with key (nil: unsigned).
// body.Key is set from key.
func MakeDigest(body DigestBody, key ed25519.PrivateKey) (Digest, error) {
	body.At = body.At.UTC()
	body.Key = ""
	if key != nil {
		body.Key = KeyFingerprint(key.Public().(ed25519.PublicKey))
	}
	if body.Heads == nil {
		body.Heads = []DigestHead{}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return Digest{}, fmt.Errorf("audit digest: encode: %w", err)
	}
	sum := sha256.Sum256(b)
	d := Digest{Body: body, Hash: hex.EncodeToString(sum[:]), body: b}
	if key != nil {
		d.Sig = ed25519.Sign(key, b)
	}
	var line bytes.Buffer
	line.WriteString(DigestMarker)
	line.WriteString(strconv.Itoa(DigestVersion))
	line.WriteString(`,"body":`)
	line.Write(b)
	line.WriteString(`,"hash":"` + d.Hash + `","sig":"` + base64.StdEncoding.EncodeToString(d.Sig) + `"}`)
	d.Line = line.String()
	return d, nil
}

// ParseDigest reads one digest line and checks that its hash is the hash
// of its body (the signature is checked by Verify).
func ParseDigest(line string) (Digest, error) {
	line = strings.TrimSpace(line)
	var raw struct {
		Version *int            `json:"accessbot_audit_digest"`
		Body    json.RawMessage `json:"body"`
		Hash    string          `json:"hash"`
		Sig     string          `json:"sig"`
	}
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Digest{}, fmt.Errorf("not a digest: %w", err)
	}
	if raw.Version == nil || *raw.Version != DigestVersion {
		return Digest{}, errors.New("not a digest of a version this accessbot reads")
	}
	d := Digest{Hash: raw.Hash, Line: line, body: raw.Body}
	sum := sha256.Sum256(raw.Body)
	if hex.EncodeToString(sum[:]) != raw.Hash {
		return d, errors.New("its hash is not the hash of its body (the digest was altered)")
	}
	if err := json.Unmarshal(raw.Body, &d.Body); err != nil {
		return d, fmt.Errorf("its body does not parse: %w", err)
	}
	if raw.Sig != "" {
		sig, err := base64.StdEncoding.DecodeString(raw.Sig)
		if err != nil || len(sig) != ed25519.SignatureSize {
			return d, errors.New("its signature is not a base64 Ed25519 signature")
		}
		d.Sig = sig
	}
	return d, nil
}

// Signed reports whether the digest carries a signature.
func (d *Digest) Signed() bool { return d.Sig != nil }

// VerifySignature checks the signature with the first of keys whose
// fingerprint the digest names.
func (d *Digest) VerifySignature(keys []ed25519.PublicKey) error {
	if !d.Signed() {
		return errors.New("it is not signed")
	}
	for _, k := range keys {
		if KeyFingerprint(k) != d.Body.Key {
			continue
		}
		if ed25519.Verify(k, d.body, d.Sig) {
			return nil
		}
		return fmt.Errorf("its signature does not verify with the public key %s (forged or altered)", d.Body.Key)
	}
	return fmt.Errorf("it is signed with key %s, which is not among the public keys given", d.Body.Key)
}

// DigestMark is where the digest chain stands: the newest digest's Seq,
// Hash and ThroughEvent (all zero before the first).
type DigestMark struct {
	Seq          int64
	Hash         string
	ThroughEvent int64
}

// TaskHead is a chain's newest event, with the chain's task (0: admin).
type TaskHead struct {
	TaskID int64
	ChainHead
}

// DigestTx is what writing digests needs inside a write transaction that is
// serialised with every other write.
type DigestTx interface {
	Now() time.Time
	// LastDigest returns where the digest chain stands.
	LastDigest() (DigestMark, error)
	// ChangedHeads returns the heads of the chains with an event whose id
	// is above afterEvent, by TaskID, and the highest event id there is.
	ChangedHeads(afterEvent int64) ([]TaskHead, int64, error)
	// AppendDigest stores d (its Seq must be the next one).
	AppendDigest(d Digest) error
}

// DigestStore runs digest transactions.
type DigestStore interface {
	UpdateDigests(ctx context.Context, fn func(DigestTx) error) error
}

// Digester writes digests: Run writes, in one transaction, one digest (or
// several, MaxDigestHeads heads each) over the heads that changed since
// the last digest, then hands each line to Sink.
type Digester struct {
	Store DigestStore
	// Key signs the digests; nil writes them unsigned (still chained).
	Key ed25519.PrivateKey
	// Sink receives each digest line after it is committed (nil: none).
	Sink func(line string) error

	mu      sync.Mutex
	pending []string // committed lines the sink has not taken yet
}

// DigestRun is what one Run did.
type DigestRun struct {
	Digests int   `json:"digests"`
	Heads   int   `json:"heads"`
	Seq     int64 `json:"seq,omitempty"` // the newest digest written
}

// Run writes the digests due now. Lines a failing sink did not take are
// offered again on the next Run (the database has them in any case).
func (d *Digester) Run(ctx context.Context) (DigestRun, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var res DigestRun
	var lines []string
	err := d.Store.UpdateDigests(ctx, func(tx DigestTx) error {
		res, lines = DigestRun{}, nil
		mark, err := tx.LastDigest()
		if err != nil {
			return err
		}
		heads, through, err := tx.ChangedHeads(mark.ThroughEvent)
		if err != nil {
			return err
		}
		if len(heads) == 0 {
			return nil
		}
		through = max(through, mark.ThroughEvent)
		now := tx.Now()
		for start := 0; start < len(heads); start += MaxDigestHeads {
			part := heads[start:min(start+MaxDigestHeads, len(heads))]
			body := DigestBody{Seq: mark.Seq + 1, At: now, Prev: mark.Hash, ThroughEvent: through, Heads: make([]DigestHead, len(part))}
			for i, h := range part {
				body.Heads[i] = DigestHead{Chain: ChainLabel(h.TaskID), Seq: h.Seq, Hash: h.Hash}
			}
			dg, err := MakeDigest(body, d.Key)
			if err != nil {
				return err
			}
			if err := tx.AppendDigest(dg); err != nil {
				return err
			}
			mark = DigestMark{Seq: body.Seq, Hash: dg.Hash, ThroughEvent: through}
			lines = append(lines, dg.Line)
			res.Digests++
			res.Heads += len(part)
			res.Seq = body.Seq
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("audit digest: %w", err)
	}
	d.pending = append(d.pending, lines...)
	if d.Sink == nil {
		d.pending = nil
		return res, nil
	}
	for len(d.pending) > 0 {
		if err := d.Sink(d.pending[0]); err != nil {
			return res, fmt.Errorf("audit digest: write to the sink (%d digests wait for it; the database has them): %w", len(d.pending), err)
		}
		d.pending = d.pending[1:]
	}
	return res, nil
}
