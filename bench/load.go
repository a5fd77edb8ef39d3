package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// client is one keep-alive HTTP/1.1 connection. It writes requests that are
// already encoded and parses answers with net/http's own parser. It is much
// lighter than http.Client (no per-connection goroutines, no header maps to
// build for requests), which matters here: the load generator shares the two
// cores with the server under test, and every cycle it spends is taken from the
// server. It is the same client for orgauth and for the baseline.
type client struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
	body bytes.Buffer
}

func newClient(addr string) *client { return &client{addr: addr} }

// do sends req, a complete HTTP/1.1 request, and returns the status and body of
// the answer. The body is valid until the next call. On an I/O error the
// connection is dropped and the next call dials again.
func (c *client) do(req []byte) (int, []byte, error) {
	if err := c.connect(); err != nil {
		return 0, nil, err
	}
	if _, err := c.conn.Write(req); err != nil {
		c.close()
		return 0, nil, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return 0, nil, err
	}
	c.body.Reset()
	_, err = c.body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.close()
		return 0, nil, err
	}
	if resp.Close {
		c.close()
	}
	return resp.StatusCode, c.body.Bytes(), nil
}

// connect dials unless the connection is open.
func (c *client) connect() error {
	if c.conn != nil {
		return nil
	}
	conn, err := net.Dial("tcp", c.addr)
	if err != nil {
		return err
	}
	c.conn, c.br = conn, bufio.NewReaderSize(conn, 16<<10)
	return nil
}

func (c *client) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.br = nil, nil
	}
}

// getRequest encodes a GET request with extra header lines ("Name: value").
func getRequest(addr, target string, headers ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: orgauth-bench\r\nAccept: application/json\r\n", target, addr)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// postJSON encodes a POST request with a JSON body and extra header lines.
func postJSON(addr, target string, body []byte, headers ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: orgauth-bench\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: %d\r\n",
		target, addr, len(body))
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// op sends one request of a scenario on c and reports a failed answer as an
// error (any status but 2xx, or an answer it cannot use).
type op func(c *client) error

// errStatus is the error of an answer with an unexpected status.
type errStatus struct {
	status int
	body   string
}

func (e errStatus) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

// expect2xx returns errStatus unless status is 2xx.
func expect2xx(status int, body []byte) error {
	if status/100 == 2 {
		return nil
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return errStatus{status, string(bytes.TrimSpace(body))}
}

// stats are the figures of one scenario.
type stats struct {
	Requests int     `json:"requests"` // answers completed in the measured window
	Errors   int     `json:"errors"`   // of which failed (non-2xx or I/O error)
	Seconds  float64 `json:"seconds"`  // length of the measured window
	RPS      float64 `json:"rps"`
	P50ms    float64 `json:"p50_ms"`
	P90ms    float64 `json:"p90_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	// CPUms and Faults are the CPU time and minor page faults of the serving
	// process (orgauth, the baseline, or the bench itself for the raw hash
	// rate) per answer, from /proc/<pid>/stat over the measured windows.
	CPUms  float64 `json:"server_cpu_ms_per_req"`
	Faults float64 `json:"server_minor_faults_per_req"`
	// RoundTrips is the increase of orgauth's orgauth_postgres_round_trips per
	// answer over the measured windows: statements sent to PostgreSQL, BEGIN
	// and COMMIT included. Nil on SQLite and for the bench's own work.
	RoundTrips *float64 `json:"postgres_round_trips_per_req,omitempty"`
	// WriteXacts and WALBytes are the transaction ids PostgreSQL assigned (one
	// per transaction that writes) and the WAL it wrote, per answer, over the
	// measured windows; cluster-wide figures. Nil on SQLite.
	WriteXacts *float64 `json:"postgres_write_xacts_per_req,omitempty"`
	WALBytes   *float64 `json:"postgres_wal_bytes_per_req,omitempty"`
	// DBCPUms is the CPU time of the PostgreSQL server's processes per
	// answer, when it runs on this machine. Nil on SQLite (its work is in
	// orgauth's CPU time).
	DBCPUms   *float64 `json:"postgres_cpu_ms_per_req,omitempty"`
	ErrorKind []string `json:"error_samples,omitempty"` // up to 5 distinct error messages
}

// errSamples keeps the first few distinct errors.
type errSamples struct {
	mu   sync.Mutex
	seen []string
}

func (e *errSamples) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	msg := err.Error()
	if len(e.seen) < 5 && !slices.Contains(e.seen, msg) {
		e.seen = append(e.seen, msg)
	}
}

// work does one unit of work of a scenario (one request, or one password
// verification) and reports whether it failed.
type work func() error

// loop is a closed-loop load of one scenario: n workers, each doing its work
// back to back (a worker starts its next request as soon as the previous one
// is answered). The workers keep their state, such as connections and
// sessions, across rounds, so a scenario can be measured in several slices
// interleaved with other scenarios.
type loop struct {
	pid      int // the process doing the work, whose CPU time and page faults are counted
	ticks    int64
	faults   int64
	probe    *windowProbe // reads orgauth's and the database's counters; nil: none
	rt       int64        // round trips, over the windows so far
	xids     int64
	wal      int64
	dbTicks  int64
	rtOK     bool // every window had its round trips read
	dbOK     bool // and its database counters
	ticksOK  bool // and the database server's CPU time
	works    []work
	lat      [][]time.Duration
	errs     []int
	samples  errSamples
	measured time.Duration
	close    func()
}

// newLoop prepares n workers with newWorker (connecting, signing in); the
// preparation is not measured. close, if not nil, is called by loop.stop.
func newLoop(pid, n int, newWorker func(w int) (work, error), close func()) (*loop, error) {
	l := &loop{pid: pid, works: make([]work, n), lat: make([][]time.Duration, n), errs: make([]int, n), close: close, rtOK: true, dbOK: true, ticksOK: true}
	for w := range l.works {
		f, err := newWorker(w)
		if err != nil {
			l.stop()
			return nil, fmt.Errorf("preparing worker %d: %w", w, err)
		}
		l.works[w] = f
	}
	return l, nil
}

// round runs the load for warmup+duration. Every unit of work completed during
// the last duration counts, and its latency (for HTTP: from writing the request
// to reading the whole answer) goes into the percentiles; the warm-up fills
// the queues first. Counting the units completed inside the window, rather than
// those started in it, keeps the rate unbiased even at 4 workers and 30 units/s.
func (l *loop) round(ctx context.Context, warmup, duration time.Duration) error {
	type edge struct {
		proc  procSample
		probe probeSample
	}
	var (
		wg, edges     sync.WaitGroup
		before, after edge
	)
	now := time.Now()
	begin, end := now.Add(warmup), now.Add(warmup+duration)
	// The process's CPU time and page faults, and the server's round trips and
	// the database's write counters, are read when the window opens and when it
	// closes; approximate, as the answers in flight at either moment straddle
	// it, but in a steady state those at the opening balance those at the
	// closing. (Reading the closing figures only once the answers in flight
	// have come in would count the work of answers that do not count.)
	sampleAt := func(t time.Time, e *edge) {
		defer edges.Done()
		select {
		case <-time.After(time.Until(t)):
		case <-ctx.Done():
		}
		e.proc = sampleProc(l.pid)
		if l.probe != nil {
			e.probe = l.probe.sample(context.WithoutCancel(ctx))
		}
	}
	edges.Add(2)
	go sampleAt(begin, &before)
	go sampleAt(end, &after)
	for w := range l.works {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					break
				}
				err := l.works[w]()
				t1 := time.Now()
				if t1.Before(begin) || !t1.Before(end) {
					continue // completed during the warm-up, or after the window
				}
				l.lat[w] = append(l.lat[w], t1.Sub(t0))
				if err != nil {
					l.errs[w]++
					l.samples.add(err)
				}
			}
		}()
	}
	wg.Wait()
	edges.Wait()
	l.ticks += after.proc.ticks - before.proc.ticks
	l.faults += after.proc.minflt - before.proc.minflt
	if l.probe != nil {
		l.rtOK = l.rtOK && before.probe.ok && after.probe.ok
		l.dbOK = l.dbOK && before.probe.dbOK && after.probe.dbOK
		l.rt += after.probe.roundTrips - before.probe.roundTrips
		l.xids += after.probe.db.nextXID - before.probe.db.nextXID
		l.wal += after.probe.db.walBytes - before.probe.db.walBytes
		l.ticksOK = l.ticksOK && before.probe.ticksOK && after.probe.ticksOK
		l.dbTicks += after.probe.dbTicks - before.probe.dbTicks
	}
	l.measured += duration
	return ctx.Err()
}

// stats sums up the rounds run so far.
func (l *loop) stats() stats {
	var all []time.Duration
	st := stats{Seconds: l.measured.Seconds(), ErrorKind: l.samples.seen}
	for w := range l.works {
		all = append(all, l.lat[w]...)
		st.Errors += l.errs[w]
	}
	st.Requests = len(all)
	if st.Requests > 0 {
		st.CPUms = float64(l.ticks) * 10 / float64(st.Requests) // ticks are 10 ms
		st.Faults = float64(l.faults) / float64(st.Requests)
	}
	if l.measured > 0 {
		st.RPS = float64(st.Requests) / l.measured.Seconds()
	}
	perReq := func(n int64) *float64 {
		v := float64(n) / float64(st.Requests)
		return &v
	}
	if l.probe != nil && st.Requests > 0 {
		if l.rtOK && l.probe.postgres {
			st.RoundTrips = perReq(l.rt)
		}
		if l.dbOK {
			st.WriteXacts, st.WALBytes = perReq(l.xids), perReq(l.wal)
		}
		if l.ticksOK {
			st.DBCPUms = perReq(l.dbTicks * 10) // ticks are 10 ms
		}
	}
	if len(all) > 0 {
		slices.Sort(all)
		st.P50ms = ms(percentile(all, 0.50))
		st.P90ms = ms(percentile(all, 0.90))
		st.P99ms = ms(percentile(all, 0.99))
		st.MaxMs = ms(all[len(all)-1])
	}
	return st
}

// stop releases what the workers hold (connections).
func (l *loop) stop() {
	if l.close != nil {
		l.close()
	}
}

// httpLoop prepares a loop of conns connections to addr, served by process pid. newOp prepares the op
// of each connection; it may use c to sign in first. Every connection is open
// before the measurement starts.
func httpLoop(pid int, addr string, conns int, newOp func(w int, c *client) (op, error)) (*loop, error) {
	var clients []*client
	closeAll := func() {
		for _, c := range clients {
			c.close()
		}
	}
	return newLoop(pid, conns, func(w int) (work, error) {
		c := newClient(addr)
		clients = append(clients, c)
		o, err := newOp(w, c)
		if err != nil {
			return nil, err
		}
		if err := c.connect(); err != nil {
			return nil, err
		}
		return func() error { return o(c) }, nil
	}, closeAll)
}

// percentile returns the q-quantile of sorted (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted)) + 0.5)
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	if i > 0 {
		i--
	}
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// tokenAnswer is the answer of sign-in and refresh.
type tokenAnswer struct {
	Authorization string `json:"Authorization"`
}

// signInBody is the JSON body of POST /v1/auth/authenticate for user i.
func signInBody(d dataset, i int) []byte {
	return []byte(`{"emailId":"` + userEmail(i) + `","password":"` + userPassword + `","org":"` + orgName(d.tenantOf(i)) + `"}`)
}

// signInPath is the target of sign-in requests: the token in the body, no cookie.
const signInPath = "/v1/auth/authenticate?setCookie=false"

// signIn signs user i in and returns an access token.
func signIn(c *client, d dataset, i int) (string, error) {
	status, body, err := c.do(postJSON(c.addr, signInPath, signInBody(d, i)))
	if err != nil {
		return "", err
	}
	if err := expect2xx(status, body); err != nil {
		return "", fmt.Errorf("sign in %s: %w", userEmail(i), err)
	}
	return parseToken(body)
}

// parseToken reads the token of a sign-in or refresh answer.
func parseToken(body []byte) (string, error) {
	var a tokenAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return "", fmt.Errorf("token answer: %w", err)
	}
	if a.Authorization == "" {
		return "", errors.New("token answer without Authorization")
	}
	return a.Authorization, nil
}
