//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// lockSQLite takes an exclusive lock on a file beside the SQLite database of dsn
// (a path or a "file:" URI), held until unlock or the end of the process, and
// fails when another orgauth serve holds it. The database is named by its
// absolute path with symbolic links resolved, so two names of one file share the
// lock. The lock is a file of its own: closing a descriptor of the database file
// itself would drop SQLite's locks on it.
func lockSQLite(dsn string) (unlock func(), err error) {
	path := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path, err = filepath.Abs(path); err != nil {
		return nil, fmt.Errorf("locking the SQLite database: %w", err)
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	} else if dir, err := filepath.EvalSymlinks(filepath.Dir(path)); err == nil {
		path = filepath.Join(dir, filepath.Base(path)) // the file is yet to be made
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
