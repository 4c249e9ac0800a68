// Package github is credrotate's GitHub forge: pull requests (find, create or
// update, labels, reviewers), auto-merge (GitHub's own through GraphQL, or a
// direct merge pinned to the head commit once checks pass), superseded pull
// requests, and alert issues. It uses go-github v60 for REST and a small
// GraphQL client for auto-merge, authenticates with a token or as a GitHub
// App installation, works with GitHub Enterprise Server through APIURL,
// honours GitHub's rate limits, and serialises its writes.
package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	gh "github.com/google/go-github/v60/github"

	"github.com/credrotate/credrotate/pkg/forge"
)

// Defaults for Options.
const (
	DefaultAPIURL       = "https://api.github.com/"
	DefaultMaxRetries   = 3
	DefaultMaxRetryWait = time.Minute
)

// AppAuth authenticates as a GitHub App installation.
type AppAuth struct {
	ID, InstallationID int64
	// PrivateKeyPEM is the App's private key (PKCS#1 or PKCS#8 PEM).
	PrivateKeyPEM []byte
}

// Options configure a Client. They mirror the github.* configuration keys.
type Options struct {
	// APIURL is the REST API root: https://api.github.com/ (default), or
	// https://HOST/api/v3/ for GitHub Enterprise Server, or any root that
	// serves the same API (such as localhub).
	APIURL      string
	Owner, Repo string
	// Token authenticates every call; App, when set, is used instead.
	Token string
	App   *AppAuth
	// HTTPClient is the base client (default http.DefaultClient's
	// transport, 30s timeout).
	HTTPClient *http.Client
	// MaxRetries bounds retries on rate limits and 5xx (default 3; -1
	// disables retries). MaxRetryWait caps one wait (default 1m): when
	// GitHub asks for a longer wait, the call fails with a RateLimitError.
	MaxRetries   int
	MaxRetryWait time.Duration
	// RetryBackoff is the first wait after a 5xx or network error, doubled
	// each retry (default 1s).
	RetryBackoff time.Duration
	// MaxResponseBytes caps every response body (default
	// DefaultMaxResponseBytes); a larger one fails with a
	// ResponseTooLargeError.
	MaxResponseBytes int64
	// MaxPages and MaxItems cap every paginated list (defaults
	// DefaultMaxPages and DefaultMaxItems); a longer one fails with a
	// ListTooLongError.
	MaxPages, MaxItems int
	// Logf receives warnings and retries (never a credential).
	Logf func(string, ...any)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Client is a GitHub client for one repository. It is safe for concurrent
// use; its writes are serialised.
type Client struct {
	gh          *gh.Client
	httpc       *http.Client
	graphqlURL  string
	owner, repo string
	tokens      tokenSource
	app         *appTokenSource
	logf        func(string, ...any)
	secret      string // the static token, for scrubbing
	timeout     time.Duration
	maxPages    int
	maxItems    int
	// identity is the login credrotate acts as, read once (see identity.go).
	identity identityCache
	// alerts is what OpenAlertKeys listed, kept up to date by this
	// client's own raises and resolves (see alertkeys.go).
	alerts alertCache

	writeMu sync.Mutex
}

// New builds a Client. It makes no call: CheckAccess does.
func New(ctx context.Context, opts Options) (*Client, error) {
	if opts.Owner == "" || opts.Repo == "" {
		return nil, errors.New("github.owner and github.repo must be set")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	} else if opts.MaxRetries < 0 {
		opts.MaxRetries = 0
	}
	if opts.MaxRetryWait <= 0 {
		opts.MaxRetryWait = DefaultMaxRetryWait
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = time.Second
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = DefaultMaxPages
	}
	if opts.MaxItems <= 0 {
		opts.MaxItems = DefaultMaxItems
	}
	base := http.DefaultTransport
	timeout := DefaultTimeout
	if opts.HTTPClient != nil {
		if opts.HTTPClient.Transport != nil {
			base = opts.HTTPClient.Transport
		}
		if opts.HTTPClient.Timeout > 0 {
			timeout = opts.HTTPClient.Timeout
		}
	}
	// Outermost first: credentials (for the API's own origins only),
	// retries, then the body cap right above the wire.
	limited := &limitTransport{base: base, max: opts.MaxResponseBytes}
	retry := &retryTransport{base: limited, maxRetries: opts.MaxRetries, maxWait: opts.MaxRetryWait,
		backoff: opts.RetryBackoff, now: opts.Now, logf: logf}

	apiURL, graphqlURL, enterprise, err := endpoints(opts.APIURL)
	if err != nil {
		return nil, err
	}
	origins := map[string]bool{}
	for _, raw := range []string{apiURL, graphqlURL} {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("github.apiURL %q: %w", opts.APIURL, err)
		}
		origins[origin(u)] = true
	}
	newGH := func(src tokenSource) (*gh.Client, *http.Client, error) {
		hc := &http.Client{Timeout: timeout, CheckRedirect: checkRedirect,
			Transport: &authTransport{src: src, base: retry, origins: origins}}
		c := gh.NewClient(hc)
		if enterprise {
			c2, err := c.WithEnterpriseURLs(apiURL, apiURL)
			if err != nil {
				return nil, nil, fmt.Errorf("github.apiURL %q: %w", opts.APIURL, err)
			}
			c = c2
		} else if apiURL != DefaultAPIURL {
			u, err := url.Parse(apiURL)
			if err != nil {
				return nil, nil, fmt.Errorf("github.apiURL %q: %w", opts.APIURL, err)
			}
			c.BaseURL, c.UploadURL = u, u
		}
		c.UserAgent = "credrotate"
		return c, hc, nil
	}

	cl := &Client{owner: opts.Owner, repo: opts.Repo, graphqlURL: graphqlURL, logf: logf,
		timeout: timeout, maxPages: opts.MaxPages, maxItems: opts.MaxItems}
	switch {
	case opts.App != nil:
		key, err := jwt.ParseRSAPrivateKeyFromPEM(opts.App.PrivateKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("parsing the GitHub App private key: %w", err)
		}
		if opts.App.ID == 0 || opts.App.InstallationID == 0 {
			return nil, errors.New("github.app.id and github.app.installationID must both be set")
		}
		src := &appTokenSource{appID: opts.App.ID, installationID: opts.App.InstallationID, key: key, now: opts.Now}
		if src.apps, _, err = newGH(jwtSource{src}); err != nil {
			return nil, err
		}
		cl.app, cl.tokens = src, src
	case opts.Token != "":
		cl.tokens, cl.secret = staticToken(opts.Token), opts.Token
	default:
		return nil, errors.New("no GitHub credentials: set github.tokenEnv (and the variable it names) or github.app")
	}
	if cl.gh, cl.httpc, err = newGH(cl.tokens); err != nil {
		return nil, err
	}
	_ = ctx
	return cl, nil
}

// endpoints derives the REST root and the GraphQL endpoint from APIURL:
// api.github.com has GraphQL at /graphql; GitHub Enterprise Server
// (https://HOST/api/v3/) at https://HOST/api/graphql; any other root at
// <root>/graphql.
func endpoints(apiURL string) (rest, graphql string, enterprise bool, err error) {
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	u, err := url.Parse(apiURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", "", false, fmt.Errorf("github.apiURL %q is not an absolute URL", apiURL)
	}
	if u.User != nil {
		return "", "", false, errors.New("github.apiURL must not carry credentials")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	rest = u.String()
	if strings.EqualFold(u.Host, "api.github.com") {
		return DefaultAPIURL, "https://api.github.com/graphql", false, nil
	}
	if p, ok := strings.CutSuffix(u.Path, "/api/v3/"); ok {
		g := *u
		g.Path = p + "/api/graphql"
		return rest, g.String(), true, nil
	}
	g := *u
	g.Path = u.Path + "graphql"
	return rest, g.String(), false, nil
}

// GraphQLURL is the GraphQL endpoint the client posts to.
func (c *Client) GraphQLURL() string { return c.graphqlURL }

// GitToken returns a token that authenticates git over HTTPS for this
// repository (the static token, or a current installation token).
func (c *Client) GitToken(ctx context.Context) (string, error) { return c.tokens.Token(ctx) }

// err wraps a go-github error for op and makes sure no credential is in its
// text.
func (c *Client) err(op string, err error) error {
	w := wrapErr(op, err)
	if w == nil {
		return nil
	}
	if timedOut(err) && !errors.Is(err, forge.ErrSlowResponse) {
		w = fmt.Errorf("%s: %w: no complete answer within %s (%w)", op, forge.ErrSlowResponse, c.timeout, err)
	}
	msg := w.Error()
	for _, s := range c.secrets() {
		if s != "" && strings.Contains(msg, s) {
			return errors.New(strings.ReplaceAll(msg, s, "***"))
		}
	}
	return w
}

func (c *Client) secrets() []string {
	out := []string{c.secret}
	if c.app != nil {
		c.app.mu.Lock()
		out = append(out, c.app.token)
		c.app.mu.Unlock()
	}
	return out
}

// CheckAccess checks, before anything is changed, that the credentials work
// and may push, open pull requests and open issues in the repository. Its
// error names the missing permission and the fix.
func (c *Client) CheckAccess(ctx context.Context) error {
	if c.app != nil {
		inst, _, err := c.app.apps.Apps.GetInstallation(ctx, c.app.installationID)
		if err != nil {
			return c.err("reading the GitHub App installation", err)
		}
		perms := map[string]string{}
		if p := inst.GetPermissions(); p != nil {
			perms["contents"] = p.GetContents()
			perms["pull_requests"] = p.GetPullRequests()
			perms["issues"] = p.GetIssues()
		}
		var missing []string
		for _, name := range []string{"contents", "pull_requests", "issues"} {
			if perms[name] != "write" {
				missing = append(missing, name+"=write")
			}
		}
		if len(missing) > 0 {
			return &PermissionError{Op: "checking GitHub App permissions", Permission: strings.Join(missing, ","),
				Message: fmt.Sprintf("installation %d has %v", c.app.installationID, perms)}
		}
	}
	// The four reads are independent: they go out at once, and the first
	// failure in this order is the one reported.
	var (
		wg                  sync.WaitGroup
		repo                *gh.Repository
		resp                *gh.Response
		repoErr, idErr      error
		pullsErr, issuesErr error
	)
	wg.Add(4)
	go func() { defer wg.Done(); repo, resp, repoErr = c.gh.Repositories.Get(ctx, c.owner, c.repo) }()
	// Who credrotate is on GitHub decides which pull requests are its own.
	go func() { defer wg.Done(); _, idErr = c.Identity(ctx) }()
	// Pull requests and issues must be readable; writes are checked by the
	// write calls themselves, which report the missing permission.
	go func() {
		defer wg.Done()
		_, _, pullsErr = c.gh.PullRequests.List(ctx, c.owner, c.repo, &gh.PullRequestListOptions{ListOptions: gh.ListOptions{PerPage: 1}})
	}()
	go func() {
		defer wg.Done()
		_, _, issuesErr = c.gh.Issues.ListByRepo(ctx, c.owner, c.repo, &gh.IssueListByRepoOptions{ListOptions: gh.ListOptions{PerPage: 1}})
	}()
	wg.Wait()
	if repoErr != nil {
		return c.err(fmt.Sprintf("reading repository %s/%s", c.owner, c.repo), repoErr)
	}
	if p := repo.GetPermissions(); p != nil && c.app == nil {
		if !p["push"] {
			return &PermissionError{Op: fmt.Sprintf("checking access to %s/%s", c.owner, c.repo),
				Permission: "push (contents=write)", Message: "the token can read the repository but not push to it"}
		}
	}
	if resp != nil {
		if scopes := resp.Header.Get("X-OAuth-Scopes"); scopes != "" && !hasScope(scopes, "repo") && !(hasScope(scopes, "public_repo") && !repo.GetPrivate()) {
			return &PermissionError{Op: "checking token scopes", Permission: "repo scope", Message: "classic token scopes: " + scopes}
		}
	}
	if idErr != nil {
		return idErr
	}
	if pullsErr != nil {
		return c.err("listing pull requests", pullsErr)
	}
	if issuesErr != nil {
		return c.err("listing issues", issuesErr)
	}
	return nil
}

func hasScope(scopes, want string) bool {
	for _, s := range strings.Split(scopes, ",") {
		if strings.TrimSpace(s) == want {
			return true
		}
	}
	return false
}

// graphQL posts one document and decodes data into out.
func (c *Client) graphQL(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.graphqlURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "credrotate")
	resp, err := c.httpc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// The body is capped by the transport (limitTransport).
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading GraphQL response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		// let go-github's error types describe rate limits and permissions
		resp.Body = io.NopCloser(bytes.NewReader(data))
		if err := gh.CheckResponse(resp); err != nil {
			return err
		}
		return fmt.Errorf("GraphQL: HTTP %d", resp.StatusCode)
	}
	var env struct {
		Data   json.RawMessage `json:"data"`
		Errors []GraphQLError  `json:"errors"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return fmt.Errorf("decoding GraphQL response: %w", err)
	}
	if len(env.Errors) > 0 {
		return &GraphQLErrors{Errors: env.Errors}
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return fmt.Errorf("decoding GraphQL data: %w", err)
		}
	}
	return nil
}

// GraphQLError is one error of a GraphQL response.
type GraphQLError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Path    []any  `json:"path"`
}

// GraphQLErrors are the errors a GraphQL response carried.
type GraphQLErrors struct{ Errors []GraphQLError }

func (e *GraphQLErrors) Error() string {
	msgs := make([]string, 0, len(e.Errors))
	for _, x := range e.Errors {
		if x.Type != "" {
			msgs = append(msgs, x.Type+": "+x.Message)
		} else {
			msgs = append(msgs, x.Message)
		}
	}
	return "GraphQL: " + strings.Join(msgs, "; ")
}

// has reports whether any error's type is typ or its message contains sub.
func (e *GraphQLErrors) has(typ, sub string) bool {
	for _, x := range e.Errors {
		if (typ != "" && x.Type == typ) || (sub != "" && strings.Contains(strings.ToLower(x.Message), sub)) {
			return true
		}
	}
	return false
}
