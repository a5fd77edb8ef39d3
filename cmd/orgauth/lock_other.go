//go:build !unix

package main

// lockSQLite does nothing where flock(2) does not exist: keeping to one instance
// per SQLite database is then up to the operator.
func lockSQLite(string) (func(), error) { return func() {}, nil }
