package postgres

import (
	"context"
	"errors"
	"time"
)

// channel is the PostgreSQL notification channel of cache invalidations.
const channel = "orgauth_cache"

// maxPayload is PostgreSQL's limit on a notification payload, less a margin.
const maxPayload = 7900

// Publish sends msg to every instance listening on the database, this one
// included (applying an invalidation twice is harmless).
func (db *DB) Publish(ctx context.Context, msg string) error {
	if len(msg) > maxPayload {
		return errors.New("postgres: notification too long")
	}
	_, err := db.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, msg)
	return err
}

// Listen delivers the messages published by every instance to handle until ctx
// ends. It holds one connection of the pool for LISTEN. Each time it (re)connects
// it first calls reset, because messages sent while it was not listening are lost;
// after a failure it retries every retry interval.
func (db *DB) Listen(ctx context.Context, handle func(msg string), reset func(), retry time.Duration) {
	for ctx.Err() == nil {
		err := db.listen(ctx, handle, reset)
		if ctx.Err() != nil {
			return
		}
		db.log(ctx, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
}

func (db *DB) listen(ctx context.Context, handle func(string), reset func()) error {
	pooled, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection will LISTEN: it must never go back to the pool.
	conn := pooled.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	reset()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		handle(n.Payload)
	}
}

// log reports a listener failure through the hook set with OnListenError.
func (db *DB) log(ctx context.Context, err error) {
	if db.onListenError != nil {
		db.onListenError(ctx, err)
	}
}

// OnListenError sets a function told of every failure of Listen's connection.
func (db *DB) OnListenError(f func(ctx context.Context, err error)) { db.onListenError = f }
