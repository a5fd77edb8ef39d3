package postgres

import (
	"context"
	"expvar"

	"github.com/jackc/pgx/v5"
)

// roundTrips counts the statements sent to PostgreSQL by this process (queries,
// executions, and the BEGIN and COMMIT of transactions), each one round trip once
// its prepared form is cached. It is published with expvar, e.g. on the profiler
// listener at /debug/vars, so benchmarks can report round trips per operation.
var roundTrips = expvar.NewInt("orgauth_postgres_round_trips")

// counter is a pgx tracer that counts round trips.
type counter struct{}

func (counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	roundTrips.Add(1)
	return ctx
}

func (counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
