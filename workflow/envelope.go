package workflow

import (
	"context"
	"sync/atomic"
	"time"
)

// Envelope is one inbound message from the chat platform (a Slack Socket
// Mode envelope), stored before it is acknowledged so that a crash never
// loses what a person was told was received. Its effect is recorded with
// a Receipt.
type Envelope struct {
	ID         string // the platform's envelope id: one row per id
	EventID    string // a second de-duplication key (Slack's event_id), or ""
	Type       string // what kind of envelope (interactive, slash_commands, …)
	Payload    []byte // the envelope's payload, to replay it
	ReceivedAt time.Time
	Attempts   int // how many times handling it was started
}

// Receipt ties engine operations to the envelope that asked for them: the
// store marks envelope ID done in the same write transaction as the first
// operation's effect, so a replayed envelope whose effect committed finds
// it done and changes nothing twice. A context carries it (WithReceipt).
type Receipt struct {
	ID       string
	recorded atomic.Bool
}

// Recorded reports whether a committed transaction marked the envelope done.
func (r *Receipt) Recorded() bool { return r != nil && r.recorded.Load() }

// SetRecorded is called by the store once the transaction that marked the
// envelope done has committed.
func (r *Receipt) SetRecorded() { r.recorded.Store(true) }

type receiptKey struct{}

// WithReceipt returns ctx carrying r; nil removes any receipt (work that
// must not mark the envelope, such as a bulk action's separate decisions).
func WithReceipt(ctx context.Context, r *Receipt) context.Context {
	return context.WithValue(ctx, receiptKey{}, r)
}

// ReceiptOf returns the receipt ctx carries, or nil.
func ReceiptOf(ctx context.Context) *Receipt {
	r, _ := ctx.Value(receiptKey{}).(*Receipt)
	return r
}

// ErrHandled is the message of the ECONFLICT a store returns when an
// operation's envelope was already handled: its effect is recorded, and
// doing it again would do it twice.
const ErrHandled = "This was already done; nothing changed."
