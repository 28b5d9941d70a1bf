package store

import (
	"context"
	"sync"

	"github.com/jmoiron/sqlx"
)

// stmtCache keeps the SQLite writer's statements prepared across
// transactions. go-sqlite3 prepares and finalizes a statement on every call,
// which costs more than the write itself for the engine's short
// transactions. The writer has one connection, busy during a transaction, so
// statements cannot be prepared on it mid-transaction: a transaction notes
// the queries it ran, and they are prepared once the connection is free.
// database/sql then reuses the prepared statement inside later transactions
// on the same connection (Tx.Stmt), and prepares afresh should the
// connection ever be replaced.
type stmtCache struct {
	mu    sync.RWMutex
	db    *sqlx.DB
	stmts map[string]*sqlx.Stmt
}

// maxCachedStmts bounds the cache: queries built from filters (FindTasks,
// multi-row inserts) vary, and the rare ones need no cache.
const maxCachedStmts = 256

func newStmtCache(db *sqlx.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sqlx.Stmt{}}
}

func (c *stmtCache) get(query string) *sqlx.Stmt {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.stmts[query]
}

// prepare prepares the queries a finished transaction ran without a cached
// statement. Failures only mean the query stays uncached.
//
// The lock is not held while preparing: preparing waits for the writer
// connection, and a transaction holding it may be waiting in get for the
// lock (a deadlock under concurrent writes).
func (c *stmtCache) prepare(ctx context.Context, queries map[string]bool) {
	for q := range queries {
		c.mu.RLock()
		_, ok := c.stmts[q]
		full := len(c.stmts) >= maxCachedStmts
		c.mu.RUnlock()
		if full {
			return
		}
		if ok {
			continue
		}
		st, err := c.db.PreparexContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if _, dup := c.stmts[q]; dup || len(c.stmts) >= maxCachedStmts {
			st.Close()
		} else {
			c.stmts[q] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}

// cached runs fn with the transaction's view of query's cached statement, or
// notes the query for preparing and returns false.
func (c conn) cached(query string) (*sqlx.Stmt, bool) {
	if c.cache == nil || c.tx == nil {
		return nil, false
	}
	st := c.cache.get(query)
	if st == nil {
		c.missed[query] = true
		return nil, false
	}
	return c.tx.StmtxContext(c.ctx, st), true
}
