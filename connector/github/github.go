// Package github signs people in with GitHub: the OAuth web application flow
// (with PKCE) and the verified primary email address from GitHub's API.
package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/orgauth/orgauth"
)

// Default base URLs of github.com. GitHub Enterprise Server and tests use others.
const (
	DefaultWebURL = "https://github.com"
	DefaultAPIURL = "https://api.github.com"
)

// maxResponse bounds what is read of an answer of GitHub.
const maxResponse = 1 << 20

// Config configures a Connector.
type Config struct {
	ClientID     string
	ClientSecret string
	RedirectURL  string // orgauth's callback for GitHub
	WebURL       string // authorize and token endpoints live under it; default DefaultWebURL
	APIURL       string // REST API; default DefaultAPIURL
	HTTPClient   *http.Client
}

// Connector talks to one GitHub OAuth app.
type Connector struct {
	oauth  oauth2.Config
	api    string
	client *http.Client
}

// New returns a connector for the app of c.
func New(c Config) *Connector {
	web := strings.TrimRight(c.WebURL, "/")
	if web == "" {
		web = DefaultWebURL
	}
	api := strings.TrimRight(c.APIURL, "/")
	if api == "" {
		api = DefaultAPIURL
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Connector{
		oauth: oauth2.Config{
			ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: c.RedirectURL,
			Endpoint: oauth2.Endpoint{
				AuthURL: web + "/login/oauth/authorize", TokenURL: web + "/login/oauth/access_token",
				AuthStyle: oauth2.AuthStyleInParams,
			},
			Scopes: []string{"read:user", "user:email"},
		},
		api: api, client: client,
	}
}

// AuthURL is where the browser goes to sign in: GitHub's authorize page with the
// state and the PKCE challenge of verifier. GitHub has no ID token: nonce is unused.
func (c *Connector) AuthURL(state, nonce, verifier string) string {
	return c.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// Identify exchanges the code and asks GitHub who signed in and which email
// address is their verified primary one.
func (c *Connector) Identify(ctx context.Context, code, nonce, verifier string) (orgauth.SSOIdentity, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.client)
	tok, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return orgauth.SSOIdentity{}, fmt.Errorf("github: exchanging the code: %w", err)
	}
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := c.get(ctx, tok, "/user", &user); err != nil {
		return orgauth.SSOIdentity{}, err
	}
	if user.ID == 0 {
		return orgauth.SSOIdentity{}, errors.New("github: the user has no id")
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := c.get(ctx, tok, "/user/emails", &emails); err != nil {
		return orgauth.SSOIdentity{}, err
	}
	id := orgauth.SSOIdentity{Subject: strconv.FormatInt(user.ID, 10)}
	id.FirstName, id.LastName, _ = strings.Cut(strings.TrimSpace(user.Name), " ")
	for _, e := range emails {
		if e.Primary {
			id.Email, id.EmailVerified = e.Email, e.Verified
		}
	}
	return id, nil
}

// get reads a JSON resource of the API with the user's token.
func (c *Connector) get(ctx context.Context, tok *oauth2.Token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.api+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("github: GET %s: %w", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("github: GET %s: status %d", path, res.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxResponse)).Decode(v); err != nil {
		return fmt.Errorf("github: GET %s: %w", path, err)
	}
	return nil
}

// Validate checks that GitHub accepts the client id and secret: it redeems a code
// that cannot exist, which GitHub answers with bad_verification_code for a valid
// client and with incorrect_client_credentials otherwise.
func (c *Connector) Validate(ctx context.Context) error {
	form := url.Values{
		"client_id": {c.oauth.ClientID}, "client_secret": {c.oauth.ClientSecret},
		"code": {"orgauth-validation"}, "redirect_uri": {c.oauth.RedirectURL},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.oauth.Endpoint.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := c.client.Do(req)
	if err != nil {
		return orgauth.Errorf(orgauth.EINVALID, "GitHub is not reachable at %s", c.oauth.Endpoint.TokenURL)
	}
	defer res.Body.Close()
	var out struct {
		Error string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxResponse)).Decode(&out); err != nil {
		return orgauth.Errorf(orgauth.EINVALID, "%s did not answer like GitHub's token endpoint (status %d)", c.oauth.Endpoint.TokenURL, res.StatusCode)
	}
	switch out.Error {
	case "bad_verification_code":
		return nil
	case "incorrect_client_credentials":
		return orgauth.Errorf(orgauth.EINVALID, "GitHub does not accept this clientId and client secret")
	case "redirect_uri_mismatch":
		return orgauth.Errorf(orgauth.EINVALID, "the GitHub app's callback URL must be %s", c.oauth.RedirectURL)
	}
	return orgauth.Errorf(orgauth.EINVALID, "GitHub answered the credential check unexpectedly (status %d, error %q)", res.StatusCode, truncate(out.Error, 64))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
