//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// lockSQLite takes an exclusive lock on a file beside the SQLite database of dsn
// (a path or a "file:" URI), held until unlock or the end of the process, and
// fails when another orgauth serve holds it. The lock file is created next to the
// database.
func lockSQLite(dsn string) (unlock func(), err error) {
	path := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	f, err := os.OpenFile(path+"-serve.lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking the SQLite database: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("another orgauth is serving the SQLite database %s: one instance serves an SQLite database; several need PostgreSQL", path)
		}
		return nil, fmt.Errorf("locking the SQLite database: %w", err)
	}
	return func() { f.Close() }, nil
}
