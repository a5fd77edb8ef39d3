package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// benchMasterKey is the fixed ORGAUTH_MASTER_KEY of the benchmark: base64 of 32 bytes.
const benchMasterKey = "b3JnYXV0aC1iZW5jaC1tYXN0ZXIta2V5LTMyYnl0ZXM="

// serverConfig is how the benchmark runs orgauth.
type serverConfig struct {
	binary   string
	dataDir  string
	listen   string // 127.0.0.1:<port>
	hasher   string
	argonMem int // KiB
	argonT   int
	bcrypt   int
	logLevel string
	logPath  string // stdout and stderr of the server go here
	dbURL    string // ORGAUTH_DATABASE_URL; empty: the SQLite file of dataDir
	debug    string // ORGAUTH_DEBUG_LISTEN: profiler and expvar counters
}

// env returns the environment of orgauth: the bench's own, without any ORGAUTH_
// variable, plus the benchmark settings.
//
// The auth rate limit (per client address, on /v1/auth/* and admin collections)
// stays on but is set far above what the one loopback client can send: at the
// default of 10 requests/s, every scenario but /v1/users/info would measure the
// limiter.
//
// The debug listener (profiler, expvar) is always on: the bench reads the
// round-trip counter of the postgres store from it.
func (c serverConfig) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ORGAUTH_") {
			env = append(env, kv)
		}
	}
	if c.dbURL != "" {
		env = append(env, "ORGAUTH_DATABASE_URL="+c.dbURL)
	}
	return append(env,
		"ORGAUTH_DEBUG_LISTEN="+c.debug,
		"ORGAUTH_DATA_DIR="+c.dataDir,
		"ORGAUTH_LISTEN="+c.listen,
		"ORGAUTH_MASTER_KEY="+benchMasterKey,
		"ORGAUTH_ADMIN_EMAIL="+adminEmail,
		"ORGAUTH_ADMIN_PASSWORD="+adminPassword,
		"ORGAUTH_PASSWORD_HASHER="+c.hasher,
		"ORGAUTH_ARGON2_MEMORY_KIB="+strconv.Itoa(c.argonMem),
		"ORGAUTH_ARGON2_TIME="+strconv.Itoa(c.argonT),
		"ORGAUTH_BCRYPT_COST="+strconv.Itoa(c.bcrypt),
		"ORGAUTH_AUTH_RATE=1e9",
		"ORGAUTH_AUTH_BURST=1e6",
		"ORGAUTH_LOG_LEVEL="+c.logLevel,
	)
}

// buildOrgauth builds cmd/orgauth of the module in moduleDir into dir.
func buildOrgauth(ctx context.Context, moduleDir, dir string) (string, error) {
	bin := filepath.Join(dir, "orgauth")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/orgauth")
	cmd.Dir = moduleDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/orgauth: %w\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot returns the directory of the main module (where go.mod is).
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module: run from the orgauth repository")
	}
	return filepath.Dir(gomod), nil
}

// migrateDB runs "orgauth migrate", creating the database of the data directory.
func migrateDB(ctx context.Context, c serverConfig) error {
	cmd := exec.CommandContext(ctx, c.binary, "migrate")
	cmd.Env = c.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("orgauth migrate: %w\n%s", err, out)
	}
	return nil
}

// process is a server started by the benchmark.
type process struct {
	cmd     *exec.Cmd
	log     *os.File
	done    chan error
	once    sync.Once
	stopErr error
}

// startOrgauth starts "orgauth serve" and waits until /readyz answers 200. It
// returns the time from starting the process to that first 200.
func startOrgauth(ctx context.Context, c serverConfig) (*process, time.Duration, error) {
	cmd := exec.Command(c.binary, "serve")
	cmd.Env = c.env()
	return start(ctx, cmd, c.logPath, c.listen, "/readyz")
}

// startBaseline starts the bench binary itself as the baseline server (see
// serveBaseline) and waits until it answers.
func startBaseline(ctx context.Context, listen, logPath string) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), baselineEnv+"="+listen)
	p, _, err := start(ctx, cmd, logPath, listen, "/")
	return p, err
}

func start(ctx context.Context, cmd *exec.Cmd, logPath, listen, readyPath string) (*process, time.Duration, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, 0, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the bench die, the kernel stops the server too (Linux).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, 0, err
	}
	p := &process{cmd: cmd, log: logf, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()

	url := "http://" + listen + readyPath
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, time.Since(t0), nil
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			logf.Close()
			return nil, 0, fmt.Errorf("%s exited before it was ready (%v); see %s", cmd.Path, err, logPath)
		case <-ctx.Done():
			p.stop()
			return nil, 0, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, 0, fmt.Errorf("%s not ready after 60s; see %s", cmd.Path, logPath)
		}
	}
}

// stop asks the process to shut down (SIGTERM) and waits, killing it after 20s.
// Calls after the first return the first one's result.
func (p *process) stop() error {
	p.once.Do(func() {
		defer p.log.Close()
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case p.stopErr = <-p.done:
		case <-time.After(20 * time.Second):
			p.cmd.Process.Kill()
			p.stopErr = fmt.Errorf("%s did not stop within 20s", p.cmd.Path)
		}
	})
	return p.stopErr
}

// memory is the resident memory of a process, from /proc/<pid>/status.
type memory struct {
	RSSMB  float64 `json:"rss_mb"`  // VmRSS: resident now
	PeakMB float64 `json:"peak_mb"` // VmHWM: highest resident ever
}

func (p *process) memory() (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			m.RSSMB = kb / 1024
		case "VmHWM":
			m.PeakMB = kb / 1024
		}
	}
	return m, sc.Err()
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// baselineEnv, when set to an address, makes the bench binary serve the
// baseline there instead of running the benchmark.
const baselineEnv = "ORGAUTH_BENCH_BASELINE_LISTEN"

// baselineBody is the constant answer of the baseline: JSON of the size and shape
// of orgauth's GET /v1/auth/org answer.
var baselineBody = []byte(`{"appEnv":"self-hosted","authType":"password","orgName":"org000042","redirectUrl":"http://127.0.0.1:40000/login?org=org000042","ssoLogins":[],"totalTenants":10000}` + "\n")

// serveBaseline is the baseline server: a minimal net/http server, in its own
// process like orgauth, answering every request with baselineBody. It has the
// same http.Server timeouts as orgauth serve.
func serveBaseline(listen string) error {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(baselineBody)
	})
	srv := &http.Server{
		Addr: listen, Handler: h,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
	}
	return srv.ListenAndServe()
}

// procSample is what /proc/<pid>/stat tells of a process.
type procSample struct {
	minflt int64 // minor page faults
	ticks  int64 // user+system CPU time, clock ticks
}

// sampleProc reads /proc/<pid>/stat; zero if it cannot.
func sampleProc(pid int) procSample {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}
	}
	// The fields after the command name, which is in parentheses and may hold spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return procSample{}
	}
	flt, _ := strconv.ParseInt(f[7], 10, 64)
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return procSample{minflt: flt, ticks: u + st}
}

// cpuTicks returns the CPU time the machine spent busy (all CPUs, from
// /proc/stat) and the CPU time of the given processes (utime+stime from
// /proc/<pid>/stat), both in clock ticks.
func cpuTicks(pids ...int) (busy, ours int64) {
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		for i, v := range f[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			if i != 3 && i != 4 { // idle and iowait are not busy
				busy += n
			}
		}
	}
	for _, pid := range pids {
		ours += sampleProc(pid).ticks
	}
	return busy, ours
}
