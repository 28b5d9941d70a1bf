package store

// Isolated runs reads whose failure must not spoil the transaction (see
// workflow's isolatedTx): on PostgreSQL, where an error aborts the
// transaction, in a savepoint rolled back on failure; SQLite's transaction
// goes on after a failed read as it was.
func (tx *writeTx) Isolated(fn func() error) error {
	if tx.d != dialectPostgres {
		return fn()
	}
	if _, err := tx.exec("SAVEPOINT isolated"); err != nil {
		return dbErr(err, "savepoint")
	}
	if err := fn(); err != nil {
		if _, rerr := tx.exec("ROLLBACK TO SAVEPOINT isolated"); rerr != nil {
			return dbErr(rerr, "roll back to savepoint")
		}
		return err
	}
	_, err := tx.exec("RELEASE SAVEPOINT isolated")
	return dbErr(err, "release savepoint")
}
