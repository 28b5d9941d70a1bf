package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// referenceHash is ComputeHash as it was before appendJSON: stored chains
// were hashed this way, so it is the specification.
func referenceHash(e AuditEvent) string {
	e.At = e.At.UTC()
	b, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("audit: marshal: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// hashOutcome runs h and reports its result or, if it panicked, that it did
// (out-of-range times must keep panicking as json.Marshal made them).
func hashOutcome(h func() string) (s string, panicked bool) {
	defer func() {
		if recover() != nil {
			s, panicked = "", true
		}
	}()
	return h(), false
}

func checkSameHash(t *testing.T, e AuditEvent) {
	t.Helper()
	want, wantPanic := hashOutcome(func() string { return referenceHash(e) })
	got, gotPanic := hashOutcome(e.ComputeHash)
	if got != want || gotPanic != wantPanic {
		wb, _ := json.Marshal(e)
		t.Fatalf("ComputeHash = %q (panic %v), reference %q (panic %v)\nevent: %#v\njson: %s", got, gotPanic, want, wantPanic, e, wb)
	}
}

func TestAuditAppendJSONMatchesMarshal(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	base := time.Date(2024, 3, 5, 14, 7, 9, 0, time.UTC)
	manyKeys := map[string]string{}
	for i := range 40 {
		manyKeys[fmt.Sprintf("k%02d", 39-i)] = fmt.Sprint(i)
	}
	manyKeys["Zed"], manyKeys["a"], manyKeys[""], manyKeys["é"], manyKeys["<b>"] = "1", "2", "3", "4", "5"
	for _, tc := range []struct {
		name string
		e    AuditEvent
	}{
		{"plain", AuditEvent{TaskID: 12, Seq: 3, At: base, Actor: "U123", Action: ActApproved, Step: 1, Comment: "ok", Details: map[string]string{"b": "2", "a": "1"}, PrevHash: "abc"}},
		{"zero event", AuditEvent{}},
		{"empty comment nil details", AuditEvent{TaskID: 1, Seq: 1, At: base, Actor: "U1", Action: ActCreated}},
		{"empty details map", AuditEvent{TaskID: 1, Seq: 1, At: base, Details: map[string]string{}}},
		{"id and hash ignored", AuditEvent{ID: 99, Hash: "zzz", TaskID: 1, Seq: 1, At: base}},
		{"many keys", AuditEvent{TaskID: 5, Seq: 9, At: base, Details: manyKeys}},
		{"html", AuditEvent{At: base, Actor: "<script>", Action: "a&b", Comment: "1 > 0 <", Details: map[string]string{"<k>": "&amp;"}, PrevHash: "<>&"}},
		{"quotes and backslashes", AuditEvent{At: base, Actor: `"quoted"`, Comment: `C:\path\"x"\\`, Details: map[string]string{`k"\`: `v\"`}}},
		{"control chars", AuditEvent{At: base, Comment: "line\nnext\r\ttab\x00nul\x01\x1f\x7f", Details: map[string]string{"\b\f": "\x0b"}}},
		{"unicode", AuditEvent{At: base, Actor: "José", Comment: "café 🎉 日本語", Details: map[string]string{"ключ": "значение", "emoji🔑": "✓"}}},
		{"line separators", AuditEvent{At: base, Comment: "a\u2028b\u2029c", Details: map[string]string{"\u2028": "\u2029"}}},
		{"invalid utf8", AuditEvent{At: base, Actor: "\xff", Comment: "ok\xc3(\xe2\x82\x80bad\xed\xa0\x80", Details: map[string]string{"\xfe": "\x80\x81", "\xff": "x"}, PrevHash: "\xc0\xaf"}},
		{"zero time", AuditEvent{TaskID: 1, Seq: 1}},
		{"sub-second", AuditEvent{At: time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)}},
		{"millis", AuditEvent{At: time.Date(2024, 1, 2, 3, 4, 5, 120000000, time.UTC)}},
		{"one nano", AuditEvent{At: time.Date(2024, 1, 2, 3, 4, 5, 1, time.UTC)}},
		{"paris", AuditEvent{At: time.Date(2024, 7, 1, 0, 30, 0, 5000, paris)}},
		{"fixed zone", AuditEvent{At: time.Date(2024, 12, 31, 23, 59, 59, 999999999, time.FixedZone("X", -(9*3600+30*60)))}},
		{"local with monotonic", AuditEvent{At: time.Now()}},
		{"year 0", AuditEvent{At: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"year 9999", AuditEvent{At: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)}},
		{"negative ints", AuditEvent{TaskID: -1, Seq: math.MinInt64, Step: -42, At: base}},
		{"large ints", AuditEvent{TaskID: math.MaxInt64, Seq: 1 << 40, Step: math.MaxInt, At: base}},
		{"admin chain", AuditEvent{TaskID: 0, Seq: 7, At: base, Actor: "U9", Action: ActPolicyChanged, Details: map[string]string{"policy": "x"}}},
		{"long", AuditEvent{At: base, Comment: strings.Repeat("long comment ", 100), PrevHash: strings.Repeat("f", 64)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.e
			c.At = c.At.UTC()
			want, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := c.appendJSON(nil)
			if !ok {
				t.Fatal("appendJSON fell back for an in-range time")
			}
			if string(got) != string(want) {
				t.Fatalf("appendJSON:\n got %s\nwant %s", got, want)
			}
			checkSameHash(t, tc.e)
		})
	}
}

func TestAuditComputeHashOutOfRangeTimePanics(t *testing.T) {
	t.Parallel()
	for _, at := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 12, 31, 23, 59, 59, 0, time.UTC),
		// In UTC this is year 10000, though not in its own zone.
		time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("W", -2*3600)),
	} {
		e := AuditEvent{TaskID: 1, Seq: 1, At: at}
		if _, panicked := hashOutcome(e.ComputeHash); !panicked {
			t.Errorf("ComputeHash with At %v did not panic", at)
		}
		checkSameHash(t, e)
	}
}

// hashAlphabet mixes plain ASCII with everything json escapes and the bytes
// of multi-byte, invalid and U+2028/U+2029 sequences.
var hashAlphabet = []byte("aZ09 _-:/.~\"\\<>&\n\r\t\x00\x01\x1f\x7f\x80\xbf\xc3\xa9\xe2\x80\xa8\xa9\xf0\x9f\x8e\x89\xff\xfe\xed\xa0")

func randomHashString(r *rand.Rand) string {
	n := r.Intn(12)
	if r.Intn(4) == 0 {
		n = 0
	}
	b := make([]byte, n)
	for i := range b {
		if r.Intn(2) == 0 {
			b[i] = 'a' + byte(r.Intn(26))
		} else {
			b[i] = hashAlphabet[r.Intn(len(hashAlphabet))]
		}
	}
	return string(b)
}

func randomHashInt(r *rand.Rand) int64 {
	switch r.Intn(5) {
	case 0:
		return 0
	case 1:
		return -r.Int63()
	case 2:
		return []int64{math.MinInt64, math.MaxInt64, -1, 1}[r.Intn(4)]
	default:
		return r.Int63n(100000)
	}
}

func TestAuditComputeHashRandom(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewSource(20240305))
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("E", 5*3600+45*60), time.FixedZone("W", -11*3600)}
	minSec := time.Date(0, 1, 2, 0, 0, 0, 0, time.UTC).Unix()
	maxSec := time.Date(9999, 12, 30, 0, 0, 0, 0, time.UTC).Unix()
	for range 5000 {
		nsec := int64(0)
		switch r.Intn(3) {
		case 1:
			nsec = r.Int63n(1e9)
		case 2:
			nsec = r.Int63n(1000) * 1e6
		}
		e := AuditEvent{
			ID:       r.Int63(),
			TaskID:   randomHashInt(r),
			Seq:      randomHashInt(r),
			At:       time.Unix(minSec+r.Int63n(maxSec-minSec), nsec).In(zones[r.Intn(len(zones))]),
			Actor:    randomHashString(r),
			Action:   randomHashString(r),
			Step:     int(randomHashInt(r)),
			Comment:  randomHashString(r),
			PrevHash: randomHashString(r),
			Hash:     randomHashString(r),
		}
		switch r.Intn(4) {
		case 0:
		case 1:
			e.Details = map[string]string{}
		default:
			e.Details = map[string]string{}
			for range r.Intn(24) {
				e.Details[randomHashString(r)] = randomHashString(r)
			}
		}
		checkSameHash(t, e)
	}
}

func FuzzComputeHash(f *testing.F) {
	f.Add(int64(1), int64(1), int64(1709647629), int64(0), 0, "U1", "created", 0, "", "", "", "", "", "")
	f.Add(int64(0), int64(7), int64(0), int64(123456789), 3600, "<a&b>", "\"\\", -1, "line\n\u2028é🎉", "k", "v", "\xff", "\x00", "abc")
	f.Add(int64(-5), int64(math.MaxInt64), int64(253402300799), int64(999999999), -7200, "\xc3", "x", 1<<40, "c", "b", "a", "a", "b", "0123")
	f.Add(int64(2), int64(3), int64(-62167219200), int64(1), 0, "", "", 2, "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, task, seq, sec, nsec int64, offset int, actor, action string, step int, comment, k1, v1, k2, v2, prev string) {
		e := AuditEvent{
			TaskID:   task,
			Seq:      seq,
			At:       time.Unix(sec, nsec).In(time.FixedZone("F", offset)),
			Actor:    actor,
			Action:   action,
			Step:     step,
			Comment:  comment,
			PrevHash: prev,
		}
		if k1 != "" || v1 != "" || k2 != "" || v2 != "" {
			e.Details = map[string]string{k1: v1, k2: v2}
		}
		checkSameHash(t, e)
	})
}

func BenchmarkComputeHash(b *testing.B) {
	e := AuditEvent{
		TaskID:   123456,
		Seq:      4,
		At:       time.Date(2024, 3, 5, 14, 7, 9, 123000000, time.FixedZone("CET", 3600)),
		Actor:    "U0123ABCDEF",
		Action:   ActGranted,
		Step:     2,
		Comment:  "granted until the end of the quarter",
		Details:  map[string]string{"resource": "prod-db", "role": "read-only", "until": "2024-06-30T00:00:00Z"},
		PrevHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	}
	accented := e
	accented.Comment = "accès accordé jusqu'à la fin du trimestre"
	for _, bc := range []struct {
		name string
		e    AuditEvent
	}{{"ascii", e}, {"escaped", accented}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = bc.e.ComputeHash()
			}
		})
		b.Run(bc.name+"/reference", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = referenceHash(bc.e)
			}
		})
	}
}
