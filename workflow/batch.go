package workflow

import (
	"context"
	"sync"
)

// Group commit of engine operations. Where the store is a BatchStore,
// operations that run at the same time (the bot's workers deciding
// different clicks) are written in one transaction, each in a savepoint of
// its own, so a burst of decisions costs one commit instead of one each.
// There is no waiting to fill a batch: an operation that finds the writer
// idle goes alone; the ones that arrive while a batch commits form the next.

// maxBatch bounds the operations of one commit.
const maxBatch = 64

type batcher struct {
	store   BatchStore
	mu      sync.Mutex
	queue   []*batchReq
	running bool
}

type batchReq struct {
	item BatchItem
	done chan error
}

// do runs fn in the next batch and returns its own outcome. It waits for
// the batch even when ctx ends meanwhile (the operation may have been
// written): an item whose ctx has ended before it runs is skipped with
// ctx's error.
//
// An operation that finds the writer idle commits its batch on its own
// goroutine: a lone decision then costs no hand-over to another goroutine
// and back, which on a busy machine costs as much as the commit. Whatever
// queued meanwhile is left to a new goroutine, so the leader returns as
// soon as its own batch is written.
func (b *batcher) do(ctx context.Context, fn func(Tx) error) error {
	r := &batchReq{item: BatchItem{Ctx: ctx, Fn: fn}, done: make(chan error, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, r)
	lead := !b.running
	b.running = true
	b.mu.Unlock()
	if lead && b.runBatch() {
		go b.loop()
	}
	return <-r.done
}

func (b *batcher) loop() {
	for b.runBatch() {
	}
}

// runBatch commits the next batch of the queue and reports whether more
// are queued; when none are, the writer is idle again.
func (b *batcher) runBatch() bool {
	b.mu.Lock()
	if len(b.queue) == 0 {
		b.running = false
		b.mu.Unlock()
		return false
	}
	n := min(len(b.queue), maxBatch)
	reqs := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()
	items := make([]BatchItem, len(reqs))
	for i, r := range reqs {
		items[i] = r.item
	}
	errs := b.store.UpdateBatch(context.Background(), items)
	for i, r := range reqs {
		r.done <- errs[i]
	}
	b.mu.Lock()
	more := len(b.queue) > 0
	if !more {
		b.running = false
	}
	b.mu.Unlock()
	return more
}
