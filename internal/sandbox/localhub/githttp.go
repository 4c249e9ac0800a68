package localhub

import (
	"context"
	"io"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// gitPathParts splits /{owner}/{repo}[.git]/{rest} into its parts when rest
// is a smart-HTTP path.
func gitPathParts(p string) (owner, repo, rest string, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
	if len(parts) < 3 {
		return "", "", "", false
	}
	owner, repo, rest = parts[0], parts[1], parts[2]
	switch {
	case strings.HasSuffix(repo, ".git"):
		return owner, strings.TrimSuffix(repo, ".git"), rest, true
	case rest == "info/refs", rest == "git-upload-pack", rest == "git-receive-pack":
		return owner, repo, rest, true
	}
	return "", "", "", false
}

func (s *Server) isGitPath(p string) bool {
	_, _, _, ok := gitPathParts(p)
	return ok
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ReadCloser
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }

// gitAuthError asks git for credentials the way GitHub does.
func gitAuthError(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
	http.Error(w, msg, http.StatusUnauthorized)
}

// handleGit serves the repository over git smart HTTP through git's own
// http-backend. Fetches are anonymous (a wrong credential is still refused);
// pushes need the token, or an installation token, as the Basic-auth
// password, and contents: write.
func (s *Server) handleGit(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts.GitRequests++
	s.mu.Unlock()
	owner, repo, rest, _ := gitPathParts(r.URL.Path)
	if !strings.EqualFold(owner, s.opts.Owner) || !strings.EqualFold(repo, s.opts.Repo) {
		http.Error(w, "Repository not found.", http.StatusNotFound)
		return
	}
	service := ""
	switch {
	case rest == "info/refs":
		service = r.URL.Query().Get("service")
	case rest == "git-upload-pack" || rest == "git-receive-pack":
		service = rest
		if r.Method != http.MethodPost {
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
	default:
		// The dumb protocol is not served, as on GitHub.
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	push := service == "git-receive-pack"
	if service != "git-upload-pack" && !push {
		http.Error(w, "Please upgrade your git client: only the smart HTTP protocol is served.", http.StatusForbidden)
		return
	}
	tok, present := credential(r)
	switch {
	case present && s.validInstallationToken(tok):
	case s.opts.Token == "":
	case !present && !push:
	case !present:
		gitAuthError(w, "Authentication required to push.")
		return
	case !constantTimeEqual(tok, s.opts.Token):
		gitAuthError(w, "Invalid username or token. Password authentication is not supported for Git operations.")
		return
	}
	if push && !s.opts.Permissions.allows(permContents, AccessWrite) {
		http.Error(w, "Permission to "+s.opts.Owner+"/"+s.opts.Repo+".git denied: the token lacks contents: write.", http.StatusForbidden)
		return
	}

	var body *countingReader
	var refs []string
	if r.Body != nil {
		body = &countingReader{r: r.Body}
		r.Body = body
		if push && rest == "git-receive-pack" && r.Header.Get("Content-Encoding") == "" {
			refs, r.Body = pushedRefs(r.Body)
		}
	}
	// Spooled before the lock is taken, so a slow client does not hold it.
	if len(r.TransferEncoding) > 0 {
		// git sends large packs chunked (past http.postBuffer), which CGI
		// cannot pass on: spool the body so it has a length.
		spooled, cleanup, err := spoolBody(r)
		if err != nil {
			http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
			return
		}
		defer cleanup()
		r = spooled
	}
	if rest == "info/refs" && !push {
		s.mu.Lock()
		s.counts.GitFetches++
		s.mu.Unlock()
	}
	if push && rest == "git-receive-pack" {
		// A push takes the write lock, so it never interleaves with a merge;
		// afterwards the pull requests see their new heads and auto-merge
		// gets its chance.
		s.mu.Lock()
		defer s.mu.Unlock()
		defer func() {
			var n int64
			if body != nil {
				n = body.n.Load()
			}
			// git probes with a bare flush packet ("0000") before a chunked
			// push; that is not a push of its own.
			switch {
			case n > 4 && onlyOtherRefs(refs):
				s.counts.OtherRefPushes++
			case n > 4:
				s.counts.GitPushes++
				s.counts.BytesPushed += n
			}
			s.pushedAt = time.Now().UTC()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s.runAutoMergeLocked(ctx)
			s.refreshLocked(ctx)
			s.saveLocked()
		}()
	}
	s.backend().ServeHTTP(w, s.backendRequest(r, rest))
}

// spoolBody copies a request body of unknown length to a temporary file and
// returns the request with that file as its body and its length set.
func spoolBody(r *http.Request) (*http.Request, func(), error) {
	f, err := os.CreateTemp("", "localhub-body-")
	if err != nil {
		return nil, func() {}, err
	}
	cleanup := func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}
	n, err := io.Copy(f, r.Body)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return nil, func() {}, err
	}
	r2 := r.Clone(r.Context())
	r2.Body = f
	r2.ContentLength = n
	r2.TransferEncoding = nil
	r2.Header.Del("Transfer-Encoding")
	return r2, cleanup, nil
}

// backendRequest rewrites the request path to the one git http-backend
// resolves under GIT_PROJECT_ROOT.
func (s *Server) backendRequest(r *http.Request, rest string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Body = r.Body
	r2.URL.Path = "/" + filepath.Base(s.opts.RepoDir) + "/" + rest
	r2.URL.RawPath = ""
	return r2
}

func (s *Server) backend() *cgi.Handler {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		gitBin = "git"
	}
	home := os.TempDir()
	return &cgi.Handler{
		Path: gitBin,
		Args: []string{"http-backend"},
		Root: "/",
		Env: []string{
			"GIT_PROJECT_ROOT=" + filepath.Dir(s.opts.RepoDir),
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER=" + s.opts.User,
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
			"HOME=" + home,
			"GIT_CONFIG_COUNT=3",
			"GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true",
			"GIT_CONFIG_KEY_1=uploadpack.allowFilter", "GIT_CONFIG_VALUE_1=true",
			"GIT_CONFIG_KEY_2=safe.directory", "GIT_CONFIG_VALUE_2=*",
		},
		InheritEnv: []string{"PATH", "TMPDIR"},
	}
}
