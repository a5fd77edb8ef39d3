package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgauth/orgauth/internal/apitest"
)

// These helpers run the real command (run, as main calls it) on a loopback port
// and talk to it over HTTP. Nothing is mocked.

// syncBuffer is an io.Writer that the server and the test may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// getenvOf returns a getenv that reads m.
func getenvOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// testEnv is the environment of a fast test server in dataDir.
func testEnv(dataDir string) map[string]string {
	return map[string]string{
		"ORGAUTH_DATA_DIR":          dataDir,
		"ORGAUTH_LISTEN":            "127.0.0.1:0",
		"ORGAUTH_ADMIN_EMAIL":       "ops@example.com",
		"ORGAUTH_LOG_FORMAT":        "json",
		"ORGAUTH_ARGON2_MEMORY_KIB": "8192",
		"ORGAUTH_ARGON2_TIME":       "1",
		"ORGAUTH_AUTH_RATE":         "0",
		"ORGAUTH_SHUTDOWN_TIMEOUT":  "10s",
	}
}

// instance is one running `orgauth serve`.
type instance struct {
	t         *testing.T
	addr      string // host:port it listens on
	base      string // http://addr
	publicURL string // as printed
	stdout    *syncBuffer
	stderr    *syncBuffer
	cancel    context.CancelFunc
	done      chan error
	hc        *http.Client
	stopped   bool
}

var listeningRE = regexp.MustCompile(`orgauth listening on (\S+) \(public URL (\S+)\)`)

// startServe runs `orgauth serve flags...` with env and waits until it listens.
func startServe(t *testing.T, env map[string]string, flags ...string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{t: t, stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	args := append([]string{"orgauth", "serve"}, flags...)
	go func() { in.done <- run(ctx, args, getenvOf(env), in.stdout, in.stderr) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(in.stdout.String()); m != nil {
			in.addr, in.publicURL = m[1], m[2]
			break
		}
		select {
		case err := <-in.done:
			cancel()
			t.Fatalf("serve returned before listening: %v\nstdout: %s\nstderr: %s", err, in.stdout, in.stderr)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not listen within 30s\nstdout: %s\nstderr: %s", in.stdout, in.stderr)
		}
	}
	in.base = "http://" + in.addr
	in.hc = &http.Client{
		Timeout:       20 * time.Second,
		Transport:     &http.Transport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(func() {
		if !in.stopped {
			if err := in.stop(); err != nil {
				t.Errorf("serve: %v", err)
			}
		}
	})
	return in
}

// stop cancels the context of run and returns what run returned. It fails the
// test when run takes longer than 20s.
func (in *instance) stop() error {
	in.t.Helper()
	in.stopped = true
	in.cancel()
	in.hc.CloseIdleConnections()
	select {
	case err := <-in.done:
		return err
	case <-time.After(20 * time.Second):
		in.t.Fatal("serve did not return within 20s after its context was cancelled")
		return nil
	}
}

// runOnce runs the command and waits (at most 20s) for it to return.
func runOnce(t *testing.T, env map[string]string, args ...string) (err error, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"orgauth"}, args...), getenvOf(env), &out, &errOut) }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cancel()
		<-done
		t.Fatalf("orgauth %s did not return within 20s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out.String(), errOut.String())
	}
	return err, out.String(), errOut.String()
}

// response is an answer of the server.
type response struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

// do sends a request (body as JSON unless it is a []byte or string) with
// headers given as name, value pairs, and checks the answer against the spec,
// the request id header, and the AuditUid header of successful writes.
func (in *instance) do(method, path string, body any, headers ...string) *response {
	t := in.t
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, in.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := in.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, req.URL.Path, err)
	}
	checkAnswer(t, method, req.URL.Path, res.StatusCode, res.Header, b)
	return &response{method: method, path: req.URL.Path, status: res.StatusCode, header: res.Header, body: b}
}

// checkAnswer checks what every answer must satisfy.
func checkAnswer(t *testing.T, method, path string, status int, h http.Header, body []byte) {
	t.Helper()
	if err := apitest.CheckResponse(method, path, status, body); err != nil {
		t.Errorf("spec: %v", err)
	}
	if h.Get("X-Request-Id") == "" {
		t.Errorf("%s %s: no X-Request-Id header", method, path)
	}
	if method != http.MethodGet && (status == http.StatusCreated || status == http.StatusNoContent) && h.Get("AuditUid") == "" {
		t.Errorf("%s %s %d: no AuditUid header", method, path, status)
	}
}

// must fails the test unless the answer has the given status.
func (r *response) must(t *testing.T, status int) *response {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, r.status, status, r.body)
	}
	return r
}

// json decodes the body into v.
func (r *response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s %s: decoding %s: %v", r.method, r.path, r.body, err)
	}
}

// login signs in and returns the access token.
func (in *instance) login(org, email, pw string) string {
	in.t.Helper()
	var tok struct {
		Authorization string
		IsMfa         bool
	}
	in.do("POST", "/v1/auth/authenticate?setCookie=false",
		map[string]string{"emailId": email, "password": pw, "org": org}).must(in.t, 200).json(in.t, &tok)
	if tok.Authorization == "" {
		in.t.Fatalf("sign-in of %s/%s gave no token", org, email)
	}
	return tok.Authorization
}

var activationRE = regexp.MustCompile(`(https?://[^\s"<>]+)/activate\?token=([^\s"<>&]+)`)

// lastActivation reads the newest invitation mail to addr that the development
// sender wrote under <dataDir>/mail and returns its link and its token.
func lastActivation(t *testing.T, dataDir, addr string) (link, token string) {
	t.Helper()
	// The outbox delivers just after the request that queued the mail.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		link, token, ok := scanActivation(t, dataDir, addr)
		if ok {
			return link, token
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s in %s", addr, filepath.Join(dataDir, "mail"))
		}
	}
}

// scanActivation returns the newest activation link mailed to addr, if any.
func scanActivation(t *testing.T, dataDir, addr string) (link, token string, ok bool) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dataDir, "mail", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files) // the names start with the time
	for i := len(files) - 1; i >= 0; i-- {
		fi, err := os.Stat(files[i])
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", files[i], fi.Mode().Perm())
		}
		raw, err := os.ReadFile(files[i])
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", files[i], err)
		}
		to, err := mail.ParseAddress(msg.Header.Get("To"))
		if err != nil {
			t.Fatalf("%s: To: %v", files[i], err)
		}
		if !strings.EqualFold(to.Address, addr) {
			continue
		}
		typ, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil || typ != "multipart/alternative" {
			t.Fatalf("%s: Content-Type %q: %v", files[i], msg.Header.Get("Content-Type"), err)
		}
		mr := multipart.NewReader(msg.Body, params["boundary"])
		var text []byte
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", files[i], err)
			}
			if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
				// NextPart undoes the quoted-printable encoding.
				if text, err = io.ReadAll(p); err != nil {
					t.Fatal(err)
				}
			}
		}
		m := activationRE.FindSubmatch(text)
		if m == nil {
			t.Fatalf("%s: no activation link in the text part: %q", files[i], text)
		}
		tok, err := url.QueryUnescape(string(m[2]))
		if err != nil {
			t.Fatal(err)
		}
		return string(m[0]), tok, true
	}
	return "", "", false
}
