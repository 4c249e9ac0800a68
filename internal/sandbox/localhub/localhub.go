package localhub

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CheckMode is the state of the simulated required checks on every pull
// request head.
type CheckMode string

// The check modes.
const (
	ChecksSuccess CheckMode = "success"
	ChecksPending CheckMode = "pending"
	ChecksFailure CheckMode = "failure"
)

// Access is a level of one permission, as GitHub Apps name them.
type Access string

// The access levels. The zero value means AccessWrite.
const (
	AccessWrite Access = "write"
	AccessRead  Access = "read"
	AccessNone  Access = "none"
)

// Permissions is what the server's tokens may do. Zero fields mean write, so
// the zero Permissions allows everything.
type Permissions struct {
	// Contents governs git pushes, merges and ref updates (GitHub's
	// "contents" permission, the repository's permissions.push).
	Contents Access
	// Issues governs issues, their comments and labels.
	Issues Access
	// PullRequests governs pull requests, reviewers and auto-merge.
	PullRequests Access
}

func (p Permissions) level(name string) Access {
	var a Access
	switch name {
	case permContents:
		a = p.Contents
	case permIssues:
		a = p.Issues
	case permPulls:
		a = p.PullRequests
	}
	if a == "" {
		return AccessWrite
	}
	return a
}

// allows reports whether p grants want on the named permission.
func (p Permissions) allows(name string, want Access) bool {
	have := p.level(name)
	switch want {
	case AccessRead:
		return have == AccessRead || have == AccessWrite
	case AccessWrite:
		return have == AccessWrite
	}
	return true
}

const (
	permContents = "contents"
	permIssues   = "issues"
	permPulls    = "pull_requests"
)

// Options configures a Server.
type Options struct {
	// RepoDir is the path of a bare git repository. With Init it is created
	// (git init --bare) when missing.
	RepoDir string
	// Init creates RepoDir when it does not exist.
	Init bool
	// DefaultBranch is the repository's default branch when HEAD does not
	// name one; default "main".
	DefaultBranch string
	// Owner and Repo name the repository; default "acme" and "gitops".
	Owner, Repo string
	// Token is required as a bearer or "token" credential on API calls and
	// as the Basic-auth password on git pushes. "" accepts any credential.
	Token string
	// User is the login of the token's user; default "credrotate-bot".
	User string
	// AppID, AppPublicKey and InstallationID enable GitHub App auth: a JWT
	// (RS256, iss=AppID) signed with the App's private key is exchanged for
	// an installation token at POST /app/installations/{id}/access_tokens.
	AppID          int64
	AppPublicKey   *rsa.PublicKey
	InstallationID int64
	// AppSlug names the App; default "credrotate". Its installation tokens
	// act as "<slug>[bot]".
	AppSlug string
	// Checks is the state of the simulated required checks; default success.
	Checks CheckMode
	// Latency is added to every API and git call.
	Latency time.Duration
	// Permissions is what the tokens may do; the zero value allows all.
	Permissions Permissions
	// RateLimit is the number of API calls per hour per resource (core,
	// graphql) before calls fail with GitHub's rate-limit error; default 5000.
	RateLimit int
	// StateFile, if set, keeps pull requests, issues, comments and labels
	// across restarts: it is read by New and rewritten after every change.
	StateFile string
	// Logf, if set, receives one line per call. Credentials never reach it.
	Logf func(format string, args ...any)
}

// Counts are the calls a Server has served.
type Counts struct {
	// API counts REST and GraphQL calls by method and route pattern, such
	// as "GET /repos/{owner}/{repo}/pulls" or "POST /graphql".
	API map[string]int
	// APITotal is the sum of API.
	APITotal int
	// GraphQL counts the top-level fields of GraphQL operations, such as
	// "mutation enablePullRequestAutoMerge" or "query repository".
	GraphQL map[string]int
	// GitFetches counts upload-pack advertisements: one per clone or fetch.
	GitFetches int
	// GitPushes counts receive-pack requests: one per push that sent
	// something to a branch or tag.
	GitPushes int
	// BytesPushed is the size of those receive-pack request bodies.
	BytesPushed int64
	// OtherRefPushes counts the pushes that update only refs outside
	// refs/heads and refs/tags (credrotate's run lease); they are not in
	// GitPushes or BytesPushed.
	OtherRefPushes int
	// GitRequests counts every git smart HTTP request served (ref
	// advertisements, upload-pack and receive-pack): each one is a network
	// round trip, so with Latency each costs at least that long.
	GitRequests int
}

// Server is a local GitHub for one bare repository. It is an http.Handler and
// is safe for concurrent use.
type Server struct {
	opts Options
	git  *gitRepo
	mux  *http.ServeMux
	// apiMux serves the REST routes, with the /api/v3 prefix removed.
	apiMux *http.ServeMux

	latency atomic.Int64
	// hostileServed counts answers given by the hostile mode.
	hostileServed atomic.Int64

	// mu guards everything below and serialises every write to the
	// repository, so a merge, a push and an auto-merge never interleave.
	mu       sync.Mutex
	checks   CheckMode
	issues   []*issue // issues[n-1] is number n; pull requests are issues too
	labels   map[string]*labelDef
	nextID   int64
	tokens   map[string]installToken
	rate     map[string]*rateWindow
	counts   Counts
	faults   []Fault
	hostile  Hostile
	statuses map[string][]*commitStatus // posted commit statuses, by commit
	head     string                     // cached HEAD branch; reset by refreshLocked
	created  time.Time
	pushedAt time.Time
}

// New checks opts, creates the bare repository if asked to, and returns a
// Server for it.
func New(opts Options) (*Server, error) {
	if opts.RepoDir == "" {
		return nil, errors.New("localhub: RepoDir is required")
	}
	dir, err := filepath.Abs(opts.RepoDir)
	if err != nil {
		return nil, fmt.Errorf("localhub: resolving %s: %w", opts.RepoDir, err)
	}
	opts.RepoDir = dir
	if opts.Owner == "" {
		opts.Owner = "acme"
	}
	if opts.Repo == "" {
		opts.Repo = "gitops"
	}
	if opts.DefaultBranch == "" {
		opts.DefaultBranch = "main"
	}
	if opts.User == "" {
		opts.User = "credrotate-bot"
	}
	if opts.AppSlug == "" {
		opts.AppSlug = "credrotate"
	}
	if opts.Checks == "" {
		opts.Checks = ChecksSuccess
	}
	if err := opts.Checks.validate(); err != nil {
		return nil, err
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = 5000
	}
	if opts.AppID != 0 && opts.AppPublicKey == nil {
		return nil, errors.New("localhub: AppID needs AppPublicKey")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if !opts.Init {
			return nil, fmt.Errorf("localhub: repository %s does not exist (set Init to create it)", dir)
		}
		if err := initBare(ctx, dir, opts.DefaultBranch); err != nil {
			return nil, fmt.Errorf("localhub: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("localhub: %w", err)
	}
	if !isBare(ctx, dir) {
		return nil, fmt.Errorf("localhub: %s is not a bare git repository", dir)
	}
	s := &Server{
		opts:    opts,
		git:     &gitRepo{dir: dir},
		checks:  opts.Checks,
		labels:  map[string]*labelDef{},
		tokens:  map[string]installToken{},
		rate:    map[string]*rateWindow{},
		nextID:  1000,
		created: time.Now().UTC().Truncate(time.Second),
	}
	s.latency.Store(int64(opts.Latency))
	if opts.StateFile != "" {
		if s.opts.StateFile, err = filepath.Abs(opts.StateFile); err != nil {
			return nil, fmt.Errorf("localhub: %w", err)
		}
		if err := s.loadState(); err != nil {
			return nil, fmt.Errorf("localhub: %w", err)
		}
	}
	s.routes()
	return s, nil
}

func (m CheckMode) validate() error {
	switch m {
	case ChecksSuccess, ChecksPending, ChecksFailure:
		return nil
	}
	return fmt.Errorf("localhub: unknown check mode %q (want success, pending or failure)", string(m))
}

// SetChecks changes the state of the simulated required check on every
// commit that has no status of its own (see POST /statuses/{sha}). Switching
// to success merges every pull request whose auto-merge is enabled.
func (s *Server) SetChecks(mode CheckMode) {
	if mode.validate() != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = mode
	s.runAutoMergeLocked(context.Background())
	s.saveLocked()
}

// SetLatency changes the delay added to every API and git call.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// Calls returns a copy of the call counts.
func (s *Server) Calls() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts
	c.API = make(map[string]int, len(s.counts.API))
	for k, v := range s.counts.API {
		c.API[k] = v
	}
	c.GraphQL = make(map[string]int, len(s.counts.GraphQL))
	for k, v := range s.counts.GraphQL {
		c.GraphQL[k] = v
	}
	return c
}

// RepoDir returns the path of the bare repository.
func (s *Server) RepoDir() string { return s.opts.RepoDir }

// Owner returns the repository's owner.
func (s *Server) Owner() string { return s.opts.Owner }

// Repo returns the repository's name.
func (s *Server) Repo() string { return s.opts.Repo }

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// ServeHTTP serves REST at / and /api/v3/, GraphQL at /graphql and
// /api/graphql, and git smart HTTP at /{owner}/{repo}.git/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if d := time.Duration(s.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	w2, r2, done := s.serveHostile(rec, r)
	if done {
		s.logf("localhub: %s %s -> %d (hostile)", r.Method, r.URL.Path, rec.status)
		return
	}
	s.mux.ServeHTTP(w2, r2)
	s.logf("localhub: %s %s -> %d (%s)", r.Method, r.URL.Path, rec.status, time.Since(start).Round(time.Millisecond))
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.apiMux = http.NewServeMux()
	// REST under /api/v3 is the same API, with URLs in responses that keep
	// the prefix.
	s.mux.HandleFunc("/api/v3/", func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimPrefix(r.URL.Path, "/api/v3")
		// Keep escaped slashes (git/ref/heads%2Fmain) escaped.
		r2.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, "/api/v3")
		s.apiMux.ServeHTTP(w, r2.WithContext(withPrefix(r.Context(), "/api/v3")))
	})
	s.mux.HandleFunc("POST /graphql", s.handleGraphQL)
	s.mux.HandleFunc("POST /api/graphql", s.handleGraphQL)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s.isGitPath(r.URL.Path) {
			s.handleGit(w, r)
			return
		}
		if kind, n, ok := s.webPath(r.URL.Path); ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			s.handleWeb(w, r, kind, n)
			return
		}
		s.apiMux.ServeHTTP(w, r)
	})

	// Repository and auth.
	s.api("GET /{$}", s.getRoot)
	s.api("GET /user", s.getUser)
	s.api("GET /rate_limit", s.getRateLimit)
	s.api("GET /app", s.getApp)
	s.api("GET /app/installations/{id}", s.getInstallation)
	s.api("POST /app/installations/{id}/access_tokens", s.createInstallationToken)
	s.api("GET /repos/{owner}/{repo}/installation", s.getRepoInstallation)
	s.api("GET /installation/repositories", s.listInstallationRepos)
	s.repoAPI("GET /repos/{owner}/{repo}", s.getRepo)
	s.repoAPI("GET /repos/{owner}/{repo}/branches/{branch...}", s.getBranch)

	// Pull requests.
	s.repoAPI("GET /repos/{owner}/{repo}/pulls", s.listPulls)
	s.repoAPI("POST /repos/{owner}/{repo}/pulls", s.createPull)
	s.repoAPI("GET /repos/{owner}/{repo}/pulls/{number}", s.getPull)
	s.repoAPI("PATCH /repos/{owner}/{repo}/pulls/{number}", s.updatePull)
	s.repoAPI("GET /repos/{owner}/{repo}/pulls/{number}/merge", s.isMerged)
	s.repoAPI("PUT /repos/{owner}/{repo}/pulls/{number}/merge", s.mergePull)
	s.repoAPI("GET /repos/{owner}/{repo}/pulls/{number}/requested_reviewers", s.listReviewers)
	s.repoAPI("POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers", s.requestReviewers)
	s.repoAPI("DELETE /repos/{owner}/{repo}/pulls/{number}/requested_reviewers", s.removeReviewers)
	s.repoAPI("GET /repos/{owner}/{repo}/pulls/{number}/reviews", s.listReviews)

	// Issues (pull requests are issues too).
	s.repoAPI("GET /repos/{owner}/{repo}/issues", s.listIssues)
	s.repoAPI("POST /repos/{owner}/{repo}/issues", s.createIssue)
	s.repoAPI("GET /repos/{owner}/{repo}/issues/{number}", s.getIssue)
	s.repoAPI("PATCH /repos/{owner}/{repo}/issues/{number}", s.updateIssue)
	s.repoAPI("GET /repos/{owner}/{repo}/issues/{number}/comments", s.listComments)
	s.repoAPI("POST /repos/{owner}/{repo}/issues/{number}/comments", s.createComment)
	s.repoAPI("GET /repos/{owner}/{repo}/issues/{number}/labels", s.listIssueLabels)
	s.repoAPI("POST /repos/{owner}/{repo}/issues/{number}/labels", s.addLabels)
	s.repoAPI("PUT /repos/{owner}/{repo}/issues/{number}/labels", s.replaceLabels)
	s.repoAPI("DELETE /repos/{owner}/{repo}/issues/{number}/labels", s.clearLabels)
	s.repoAPI("DELETE /repos/{owner}/{repo}/issues/{number}/labels/{name}", s.removeLabel)
	s.repoAPI("GET /repos/{owner}/{repo}/labels", s.listRepoLabels)
	s.repoAPI("GET /repos/{owner}/{repo}/labels/{name}", s.getRepoLabel)
	s.repoAPI("POST /repos/{owner}/{repo}/labels", s.createRepoLabel)

	// Checks and refs.
	s.repoAPI("GET /repos/{owner}/{repo}/commits/{rest...}", s.commitsSubresource)
	s.repoAPI("POST /repos/{owner}/{repo}/statuses/{sha}", s.createStatus)
	s.repoAPI("GET /repos/{owner}/{repo}/git/ref/{ref...}", s.getRef)
	s.repoAPI("GET /repos/{owner}/{repo}/git/refs/{ref...}", s.getRef)
	s.repoAPI("POST /repos/{owner}/{repo}/git/refs", s.createRef)
	s.repoAPI("PATCH /repos/{owner}/{repo}/git/refs/{ref...}", s.updateRef)
	s.repoAPI("DELETE /repos/{owner}/{repo}/git/refs/{ref...}", s.deleteRef)

	s.apiMux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.countAPI(r.Method + " (unknown)")
		s.setRateHeaders(w, "core", false)
		writeError(w, http.StatusNotFound, "Not Found", nil)
	})
}

// api registers a REST route: it is counted, rate-limited and authenticated
// before h runs.
func (s *Server) api(pattern string, h func(w http.ResponseWriter, r *http.Request, c *call)) {
	s.apiMux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.countAPI(pattern)
		if pattern == "GET /rate_limit" {
			// Asking for the rate limit does not spend it, as on GitHub.
			s.setRateHeaders(w, "core", false)
		} else if !s.takeRate(w, "core") {
			return
		}
		if s.takeFault(w) {
			return
		}
		c, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		c.pattern = pattern
		h(w, r, c)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.persist()
		}
	})
}

// repoAPI is api for routes under /repos/{owner}/{repo}: other repositories
// do not exist, and only installation tokens and tokens reach them.
func (s *Server) repoAPI(pattern string, h func(w http.ResponseWriter, r *http.Request, c *call)) {
	s.api(pattern, func(w http.ResponseWriter, r *http.Request, c *call) {
		if !strings.EqualFold(r.PathValue("owner"), s.opts.Owner) || !strings.EqualFold(r.PathValue("repo"), s.opts.Repo) {
			writeError(w, http.StatusNotFound, "Not Found", nil)
			return
		}
		if c.kind == kindApp {
			writeError(w, http.StatusForbidden, "Resource not accessible by integration: an App JWT only reaches /app endpoints; exchange it for an installation token", nil)
			return
		}
		h(w, r, c)
	})
}

func (s *Server) countAPI(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts.API == nil {
		s.counts.API = map[string]int{}
	}
	s.counts.API[key]++
	s.counts.APITotal++
}

type prefixKey struct{}

func withPrefix(ctx context.Context, p string) context.Context {
	return context.WithValue(ctx, prefixKey{}, p)
}

// urls are the base URLs that responses to one request point at: the API
// (with /api/v3 when the request used it) and the web pages.
type urls struct {
	api, web string
}

func (s *Server) urlsFor(r *http.Request) urls {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Host
	if host == "" {
		host = "localhost"
	}
	web := scheme + "://" + host
	prefix, _ := r.Context().Value(prefixKey{}).(string)
	return urls{api: web + prefix, web: web}
}

// rateWindow is one resource's hourly budget.
type rateWindow struct {
	reset time.Time
	used  int
}

// takeRate spends one call of resource and sets GitHub's rate-limit headers;
// it answers 403 like GitHub when the budget is spent.
func (s *Server) takeRate(w http.ResponseWriter, resource string) bool {
	return s.setRateHeaders(w, resource, true)
}

func (s *Server) setRateHeaders(w http.ResponseWriter, resource string, spend bool) bool {
	s.mu.Lock()
	now := time.Now()
	win := s.rate[resource]
	if win == nil || !now.Before(win.reset) {
		win = &rateWindow{reset: now.Add(time.Hour).Truncate(time.Second)}
		s.rate[resource] = win
	}
	limit := s.opts.RateLimit
	exceeded := spend && win.used >= limit
	if spend && !exceeded {
		win.used++
	}
	used, reset := win.used, win.reset
	s.mu.Unlock()
	h := w.Header()
	h.Set("X-RateLimit-Limit", fmt.Sprint(limit))
	h.Set("X-RateLimit-Remaining", fmt.Sprint(max(limit-used, 0)))
	h.Set("X-RateLimit-Reset", fmt.Sprint(reset.Unix()))
	h.Set("X-RateLimit-Used", fmt.Sprint(used))
	h.Set("X-RateLimit-Resource", resource)
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	if exceeded {
		writeError(w, http.StatusForbidden, "API rate limit exceeded for user. (localhub allows "+fmt.Sprint(limit)+" calls per hour.)", nil)
		return false
	}
	return true
}

// ExhaustRateLimit spends the rest of the hour's budget of resource ("core"
// or "graphql"), so that the next call fails with GitHub's rate-limit error.
func (s *Server) ExhaustRateLimit(resource string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	win := s.rate[resource]
	if win == nil || !time.Now().Before(win.reset) {
		win = &rateWindow{reset: time.Now().Add(time.Hour).Truncate(time.Second)}
		s.rate[resource] = win
	}
	win.used = s.opts.RateLimit
}

// ResetRateLimit gives every resource a full budget again.
func (s *Server) ResetRateLimit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate = map[string]*rateWindow{}
}

func (s *Server) getRateLimit(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	now := time.Now()
	res := map[string]any{}
	for _, name := range []string{"core", "search", "graphql", "code_search", "integration_manifest"} {
		win := s.rate[name]
		used, reset := 0, now.Add(time.Hour).Truncate(time.Second)
		if win != nil && now.Before(win.reset) {
			used, reset = win.used, win.reset
		}
		res[name] = map[string]any{
			"limit": s.opts.RateLimit, "remaining": max(s.opts.RateLimit-used, 0),
			"reset": reset.Unix(), "used": used, "resource": name,
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"resources": res, "rate": res["core"]})
}

func (s *Server) getRoot(w http.ResponseWriter, r *http.Request, c *call) {
	u := s.urlsFor(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"current_user_url":   u.api + "/user",
		"repository_url":     u.api + "/repos/{owner}/{repo}",
		"rate_limit_url":     u.api + "/rate_limit",
		"graphql_url":        u.web + "/graphql",
		"localhub_git_url":   u.web + "/" + s.opts.Owner + "/" + s.opts.Repo + ".git",
		"localhub_repo_full": s.opts.Owner + "/" + s.opts.Repo,
	})
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
