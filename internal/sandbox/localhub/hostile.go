package localhub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Hostile makes the server misbehave the way a hostile or broken GitHub
// (or something that only claims to be GitHub) would, on every API call
// (REST and GraphQL) until SetHostile(Hostile{}) clears it. Tests use it to
// show that a client ends each case with a clean, named error, in bounded
// memory and time, and sends no credential anywhere else.
type Hostile struct {
	// EndlessNext answers every paginated list with a rel="next" link that
	// never ends: page N+1 is always offered, and it is page 1 again.
	EndlessNext bool
	// HugeBody answers every call with 200 and a JSON document of this many
	// bytes (an array holding one pull request whose body is that long),
	// streamed without a Content-Length.
	HugeBody int64
	// HugeBodyDeclared sends the Content-Length of the huge body up front.
	HugeBodyDeclared bool
	// RedirectTo answers every call with 307 Temporary Redirect to this
	// base URL plus the request's path and query (another host, or the
	// same host over plain http).
	RedirectTo string
	// GitRedirectTo does the same for git smart HTTP requests.
	GitRedirectTo string
	// Drip sends every answer one byte at a time, Drip apart.
	Drip time.Duration
	// Path, when set, limits the misbehaviour to requests whose path
	// contains it (such as "/pulls").
	Path string
}

type hostileKey struct{}

// SetHostile switches hostile behaviour on (or off, with the zero Hostile).
func (s *Server) SetHostile(h Hostile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hostile = h
}

// HostileServed counts the answers the hostile mode has given (redirects,
// huge bodies, dripped answers, endless pages) since the server started.
func (s *Server) HostileServed() int64 { return s.hostileServed.Load() }

func (s *Server) currentHostile() Hostile {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hostile
}

// serveHostile answers r itself when the hostile mode says so; otherwise it
// returns the request (marked for endless pagination) and the writer the
// normal handlers must use.
func (s *Server) serveHostile(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, bool) {
	h := s.currentHostile()
	if h.Path != "" && !strings.Contains(r.URL.Path, h.Path) {
		return w, r, false
	}
	git := s.isGitPath(r.URL.Path)
	switch {
	case git && h.GitRedirectTo != "":
		s.hostileServed.Add(1)
		http.Redirect(w, r, strings.TrimSuffix(h.GitRedirectTo, "/")+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return w, r, true
	case git:
		return w, r, false
	case h.RedirectTo != "":
		s.hostileServed.Add(1)
		http.Redirect(w, r, strings.TrimSuffix(h.RedirectTo, "/")+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return w, r, true
	case h.HugeBody > 0:
		s.hostileServed.Add(1)
		writeHuge(w, r, h.HugeBody, h.HugeBodyDeclared)
		return w, r, true
	}
	if h.EndlessNext && r.Method == http.MethodGet {
		s.hostileServed.Add(1)
		r = r.WithContext(context.WithValue(r.Context(), hostileKey{}, true))
		// Lists that are not paginated here (check runs) get the link too;
		// paginate sets its own.
		q := r.URL.Query()
		page, _ := strconv.Atoi(q.Get("page"))
		q.Set("page", strconv.Itoa(max(page, 1)+1))
		next := *r.URL
		next.RawQuery = q.Encode()
		u := s.urlsFor(r)
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, u.web, next.RequestURI()))
	}
	if h.Drip > 0 {
		s.hostileServed.Add(1)
		w = &dripWriter{ResponseWriter: w, ctx: r.Context(), every: h.Drip}
	}
	return w, r, false
}

// endlessNext reports whether r is to be answered with a never-ending
// rel="next".
func endlessNext(r *http.Request) bool {
	v, _ := r.Context().Value(hostileKey{}).(bool)
	return v
}

// writeHuge streams a JSON array with one pull request whose body is n
// bytes long, until it is all sent or the client goes away.
func writeHuge(w http.ResponseWriter, r *http.Request, n int64, declare bool) {
	const head, tail = `[{"number":1,"state":"open","head":{"ref":"credrotate/huge"},"body":"`, `"}]`
	fill := max(n-int64(len(head)+len(tail)), 0)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if declare {
		w.Header().Set("Content-Length", fmt.Sprint(int64(len(head)+len(tail))+fill))
	}
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte(head)); err != nil {
		return
	}
	chunk := []byte(strings.Repeat("A", 64<<10))
	for fill > 0 {
		if r.Context().Err() != nil {
			return
		}
		c := chunk[:min(int64(len(chunk)), fill)]
		if _, err := w.Write(c); err != nil {
			return
		}
		fill -= int64(len(c))
	}
	_, _ = w.Write([]byte(tail))
}

// dripWriter sends what it is given one byte at a time.
type dripWriter struct {
	http.ResponseWriter
	ctx   context.Context
	every time.Duration
}

func (d *dripWriter) Write(b []byte) (int, error) {
	flusher, _ := d.ResponseWriter.(http.Flusher)
	for i := range b {
		if _, err := d.ResponseWriter.Write(b[i : i+1]); err != nil {
			return i, err
		}
		if flusher != nil {
			flusher.Flush()
		}
		t := time.NewTimer(d.every)
		select {
		case <-d.ctx.Done():
			t.Stop()
			return i + 1, d.ctx.Err()
		case <-t.C:
		}
	}
	return len(b), nil
}

func (d *dripWriter) Flush() {
	if f, ok := d.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// ForeignPR is a pull request that is not credrotate's although its branch
// may carry credrotate's prefix and its body a state marker: opened by
// another account, or from a fork, or from a fork that was since deleted.
type ForeignPR struct {
	// Branch is the head branch. For a pull request from this repository
	// (Fork "" and not ForkGone) it must exist here.
	Branch string
	// Base is the base branch; default the default branch.
	Base        string
	Title, Body string
	// User opened it; default "mallory".
	User string
	// Fork is the head repository's full name ("mallory/gitops"); "" for
	// a branch of this repository.
	Fork string
	// ForkGone makes the head repository deleted: GitHub then reports
	// head.repo as null.
	ForkGone bool
}

// OpenForeignPR opens f as an open pull request and returns its number.
func (s *Server) OpenForeignPR(ctx context.Context, f ForeignPR) (int, error) {
	if f.Branch == "" || f.Title == "" {
		return 0, errors.New("localhub: a foreign pull request needs a branch and a title")
	}
	if f.User == "" {
		f.User = "mallory"
	}
	if f.ForkGone && f.Fork == "" {
		f.Fork = f.User + "/" + s.opts.Repo
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Base == "" {
		if f.Base = s.git.headBranch(ctx); f.Base == "" {
			f.Base = s.opts.DefaultBranch
		}
	}
	br := s.refreshLocked(ctx)
	baseSHA, ok := br[f.Base]
	if !ok {
		return 0, fmt.Errorf("localhub: base branch %s does not exist", f.Base)
	}
	headSHA := baseSHA // a fork's commits are not in this repository
	if f.Fork == "" {
		if headSHA, ok = br[f.Branch]; !ok {
			return 0, fmt.Errorf("localhub: head branch %s does not exist", f.Branch)
		}
	}
	now := time.Now().UTC()
	is := &issue{
		number: len(s.issues) + 1, id: s.newID(), title: f.Title, body: f.Body, state: "open", user: f.User,
		createdAt: now, updatedAt: now,
		pr: &pull{id: s.newID(), head: f.Branch, base: f.Base, headSHA: headSHA, baseSHA: baseSHA,
			fork: f.Fork, forkGone: f.ForkGone},
	}
	s.issues = append(s.issues, is)
	s.saveLocked()
	return is.number, nil
}

// headJSON renders a pull request's head: a branch of this repository, of
// a fork, or of a fork that is gone (repo: null, as GitHub answers).
func (s *Server) headJSON(r *http.Request, u urls, is *issue) map[string]any {
	p := is.pr
	if !p.fromFork() {
		return s.branchJSON(r, u, p.head, p.headSHA)
	}
	owner, name, _ := strings.Cut(p.fork, "/")
	m := map[string]any{"label": owner + ":" + p.head, "ref": p.head, "sha": p.headSHA, "user": s.userJSON(u, owner), "repo": nil}
	if !p.forkGone {
		repo := s.repoJSON(r, u, false)
		fork := make(map[string]any, len(repo))
		for k, v := range repo {
			fork[k] = v
		}
		fork["name"], fork["full_name"], fork["fork"], fork["owner"] = name, p.fork, true, s.userJSON(u, owner)
		m["repo"] = fork
	}
	return m
}

// OpenForeignIssue opens an issue as user (default "mallory"), with labels,
// and returns its number: someone else's issue that may copy credrotate's
// hidden markers.
func (s *Server) OpenForeignIssue(user, title, body string, labels []string) int {
	if user == "" {
		user = "mallory"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC()
	is := &issue{number: len(s.issues) + 1, id: s.newID(), title: title, body: body, state: "open", user: user,
		createdAt: now, updatedAt: now, labels: mergeLabels(nil, labels)}
	s.issues = append(s.issues, is)
	s.saveLocked()
	return is.number
}
