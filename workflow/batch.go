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
func (b *batcher) do(ctx context.Context, fn func(Tx) error) error {
	r := &batchReq{item: BatchItem{Ctx: ctx, Fn: fn}, done: make(chan error, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, r)
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	return <-r.done
}

func (b *batcher) loop() {
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.running = false
			b.mu.Unlock()
			return
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
	}
}
