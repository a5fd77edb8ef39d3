package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/orgauth/orgauth/password"
)

// spreader maps 0, 1, 2, ... onto user indices spread over the whole dataset,
// visiting every user once before any repeats (the stride is coprime with the
// number of users). Consecutive sign-ins therefore hit different users, tenants
// and database pages, and no account gets near the lockout (which only counts
// failures anyway).
type spreader struct {
	n, stride int
}

func newSpreader(n int) spreader {
	stride := 7919 // a prime
	for gcd(stride, n) != 1 {
		stride += 2
	}
	return spreader{n: n, stride: stride % max(n, 1)}
}

func (s spreader) at(k int) int { return int((int64(k) * int64(s.stride)) % int64(s.n)) }

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// poolSize is the number of signed-in users whose tokens or API keys the
// /v1/users/info scenarios share among their connections.
const poolSize = 16

// opBaseline asks the baseline server for its constant answer.
func opBaseline(addr string) func(int, *client) (op, error) {
	req := getRequest(addr, "/")
	return func(int, *client) (op, error) {
		return func(c *client) error {
			status, body, err := c.do(req)
			if err != nil {
				return err
			}
			return expect2xx(status, body)
		}, nil
	}
}

// opAuthOrg asks GET /v1/auth/org?orgName=... about the tenants in turn:
// connection w starts at tenant w and steps through them with a stride coprime
// with their number, so over time every tenant is asked about, in no
// particular order.
func opAuthOrg(addr string, d dataset) func(int, *client) (op, error) {
	return opTenantsInTurn(addr, d, "/v1/auth/org?orgName=", nil)
}

// opSSOLogins asks GET /v1/auth/sso/logins?org=... about the tenants in turn,
// as opAuthOrg does: half of them offer two social logins, half none.
func opSSOLogins(addr string, d dataset) func(int, *client) (op, error) {
	return opTenantsInTurn(addr, d, "/v1/auth/sso/logins?org=", func(t int, body []byte) error {
		if offers := bytes.Contains(body, []byte(`"name":"github"`)); offers != (t%2 == 0) {
			return fmt.Errorf("%s: unexpected logins %q", orgName(t), body)
		}
		return nil
	})
}

// opTenantsInTurn GETs prefix+orgName for the tenants in turn; check (if not
// nil) checks each answer of tenant t.
func opTenantsInTurn(addr string, d dataset, prefix string, check func(t int, body []byte) error) func(int, *client) (op, error) {
	reqs := make([][]byte, d.tenants)
	for t := range reqs {
		reqs[t] = getRequest(addr, prefix+orgName(t))
	}
	sp := newSpreader(d.tenants)
	return func(w int, _ *client) (op, error) {
		next := w
		return func(c *client) error {
			t := sp.at(next)
			next++
			status, body, err := c.do(reqs[t])
			if err != nil {
				return err
			}
			if err := expect2xx(status, body); err != nil || check == nil {
				return err
			}
			return check(t, body)
		}, nil
	}
}

// opGetWith sends one prepared GET with a credential header. prepare signs in
// (and makes an API key) for the pool of users, once for all connections.
func opGetWith(addr, target string, header func(pool []string, w int) string, prepare func(c *client) ([]string, error)) func(int, *client) (op, error) {
	var pool []string
	return func(w int, c *client) (op, error) {
		if pool == nil {
			p, err := prepare(c)
			if err != nil {
				return nil, err
			}
			pool = p
		}
		req := getRequest(addr, target, header(pool, w))
		return func(c *client) error {
			status, body, err := c.do(req)
			if err != nil {
				return err
			}
			return expect2xx(status, body)
		}, nil
	}
}

// poolUsers are the users whose tokens or keys the pool scenarios use: the
// first poolSize of the spread order, so they are in different tenants.
func poolUsers(d dataset) []int {
	sp := newSpreader(d.users)
	n := min(poolSize, d.users)
	users := make([]int, n)
	for j := range users {
		users[j] = sp.at(j)
	}
	return users
}

// signInPool signs in the pool users and returns their access tokens.
func signInPool(d dataset) func(c *client) ([]string, error) {
	return func(c *client) ([]string, error) {
		var toks []string
		for _, i := range poolUsers(d) {
			tok, err := signIn(c, d, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, tok)
		}
		return toks, nil
	}
}

// apiKeyPool signs in the pool users and makes an API key for each with
// POST /v1/apiKeys.
func apiKeyPool(addr string, d dataset) func(c *client) ([]string, error) {
	return func(c *client) ([]string, error) {
		toks, err := signInPool(d)(c)
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(toks))
		for _, tok := range toks {
			status, body, err := c.do(postJSON(addr, "/v1/apiKeys", []byte(`{"metadata":{"name":"bench"},"spec":{}}`), "Authorization: "+tok))
			if err != nil {
				return nil, err
			}
			if err := expect2xx(status, body); err != nil {
				return nil, fmt.Errorf("create API key: %w", err)
			}
			var a struct {
				APIKey string `json:"apiKey"`
			}
			if err := json.Unmarshal(body, &a); err != nil || a.APIKey == "" {
				return nil, fmt.Errorf("create API key: answer %q", body)
			}
			keys = append(keys, a.APIKey)
		}
		return keys, nil
	}
}

// opRefresh gives every connection a session of its own (a distinct user signs
// in during preparation); the connection then refreshes the latest token of its
// session again and again, as a client keeping a session alive would.
func opRefresh(addr string, d dataset) func(int, *client) (op, error) {
	sp := newSpreader(d.users)
	return func(w int, c *client) (op, error) {
		tok, err := signIn(c, d, sp.at(poolSize+w)) // users outside the pools
		if err != nil {
			return nil, err
		}
		return func(c *client) error {
			status, body, err := c.do(getRequest(addr, "/v1/auth/refresh/"+tok+"?setCookie=false"))
			if err != nil {
				return err
			}
			if err := expect2xx(status, body); err != nil {
				return err
			}
			newTok, err := parseToken(body)
			if err != nil {
				return err
			}
			tok = newTok
			return nil
		}, nil
	}
}

// opSignIn signs in a different seeded user with the right password on every
// request, all connections taking the next user from one shared sequence.
func opSignIn(addr string, d dataset, seq *atomic.Int64) func(int, *client) (op, error) {
	sp := newSpreader(d.users)
	return func(int, *client) (op, error) {
		return func(c *client) error {
			i := sp.at(int(seq.Add(1)) + 1000) // past the users the other scenarios signed in
			status, body, err := c.do(postJSON(addr, signInPath, signInBody(d, i)))
			if err != nil {
				return err
			}
			if err := expect2xx(status, body); err != nil {
				return err
			}
			_, err = parseToken(body)
			return err
		}, nil
	}
}

// rawVerifyLoop is the password verification orgauth does on sign-in, run in
// this process by one worker per CPU: the verifications/s the machine can do
// with these parameters. It is measured while both servers sit idle. It goes
// through the password package itself (parse the stored hash, take a slot,
// compute, compare), so the only difference from a sign-in is the HTTP and
// database work around it.
func rawVerifyLoop(ctx context.Context, hasher *password.Hasher, hash string, workers int) (*loop, error) {
	return newLoop(os.Getpid(), workers, func(int) (work, error) {
		return func() error {
			ok, err := hasher.Verify(ctx, hash, userPassword)
			if err == nil && !ok {
				err = errors.New("the password does not match its hash")
			}
			return err
		}, nil
	}, nil)
}
