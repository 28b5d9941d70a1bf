package store

import "sync"

// writeGate orders the SQLite writers of this process (its one writer
// connection serves one transaction at a time): urgent writers (the inbox's
// group commits, which an ack waits on) go before the others that queue.
// database/sql hands a freed connection to any of its waiters, so without
// the gate a burst of engine transactions could keep an ack waiting for
// many of them.
type writeGate struct {
	mu     sync.Mutex
	cond   *sync.Cond
	busy   bool
	urgent int
}

func newWriteGate() *writeGate {
	g := &writeGate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// enter waits for the writer; nil gates (PostgreSQL) do not wait.
func (g *writeGate) enter(urgent bool) {
	if g == nil {
		return
	}
	g.mu.Lock()
	if urgent {
		g.urgent++
	}
	for g.busy || (!urgent && g.urgent > 0) {
		g.cond.Wait()
	}
	if urgent {
		g.urgent--
	}
	g.busy = true
	g.mu.Unlock()
}

func (g *writeGate) leave() {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.busy = false
	g.cond.Broadcast()
	g.mu.Unlock()
}
