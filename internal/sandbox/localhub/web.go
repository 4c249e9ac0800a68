package localhub

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

// The web pages are deliberately plain: they exist so that the html_url of a
// pull request or issue, printed in a run's logs, opens something a person
// can read.

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
pre{background:#f6f8fa;padding:1em;overflow:auto;white-space:pre-wrap}
.state{display:inline-block;padding:.2em .6em;border-radius:1em;color:#fff;background:#1f883d}
.closed{background:#cf222e}.merged{background:#8250df}.label{border:1px solid #ccc;border-radius:1em;padding:0 .5em;margin-right:.3em}
td{padding:.2em 1em .2em 0;vertical-align:top}</style></head>
<body><p><a href="{{.RepoURL}}">{{.Repo}}</a></p>
{{with .Item}}<h1>{{.Title}} <small>#{{.Number}}</small></h1>
<p><span class="state {{.StateClass}}">{{.State}}</span> opened by {{.User}}
{{if .Head}} &middot; wants to merge <code>{{.Head}}</code> into <code>{{.Base}}</code>{{end}}</p>
<table>
{{if .HeadSHA}}<tr><td>head</td><td><code>{{.HeadSHA}}</code></td></tr>{{end}}
{{if .MergeCommit}}<tr><td>merge commit</td><td><code>{{.MergeCommit}}</code> ({{.MergeMethod}})</td></tr>{{end}}
{{if .Labels}}<tr><td>labels</td><td>{{range .Labels}}<span class="label">{{.}}</span>{{end}}</td></tr>{{end}}
{{if .Reviewers}}<tr><td>reviewers</td><td>{{range .Reviewers}}{{.}} {{end}}</td></tr>{{end}}
{{if .AutoMerge}}<tr><td>auto-merge</td><td>{{.AutoMerge}}</td></tr>{{end}}
{{if .Checks}}<tr><td>checks</td><td>{{.Checks}}</td></tr>{{end}}
</table>
<pre>{{.Body}}</pre>
{{if .Commits}}<h2>Commits</h2><pre>{{.Commits}}</pre>{{end}}
{{if .Files}}<h2>Files changed</h2><pre>{{.Files}}</pre>{{end}}
{{range .Comments}}<h3>{{.User}} commented</h3><pre>{{.Body}}</pre>{{end}}
{{end}}
{{with .List}}<h1>{{$.Repo}}</h1><h2>Pull requests and issues</h2><table>
{{range .}}<tr><td><a href="{{.URL}}">#{{.Number}}</a></td><td>{{.Kind}}</td><td>{{.State}}</td><td>{{.Title}}</td></tr>{{end}}
</table>{{end}}
{{if .Branches}}<h2>Branches</h2><pre>{{.Branches}}</pre>{{end}}
<p><small>localhub &middot; clone: <code>{{.CloneURL}}</code></small></p>
</body></html>
`))

type webItem struct {
	Number                   int
	Title, Body, State, User string
	StateClass               string
	Head, Base, HeadSHA      string
	MergeCommit, MergeMethod string
	Labels, Reviewers        []string
	AutoMerge, Checks        string
	Commits, Files           string
	Comments                 []Comment
}

type webRow struct {
	Number             int
	Kind, State, Title string
	URL                string
}

type webPage struct {
	Title, Repo, RepoURL, CloneURL string
	Item                           *webItem
	List                           []webRow
	Branches                       string
}

// webPath matches /{owner}/{repo}, /{owner}/{repo}/pull/{n} and
// /{owner}/{repo}/issues/{n} for this repository.
func (s *Server) webPath(p string) (kind string, number int, ok bool) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) < 2 || !strings.EqualFold(parts[0], s.opts.Owner) || !strings.EqualFold(parts[1], s.opts.Repo) {
		return "", 0, false
	}
	switch {
	case len(parts) == 2:
		return "repo", 0, true
	case len(parts) == 4 && (parts[2] == "pull" || parts[2] == "issues"):
		n, err := strconv.Atoi(parts[3])
		return parts[2], n, err == nil
	}
	return "", 0, false
}

func (s *Server) handleWeb(w http.ResponseWriter, r *http.Request, kind string, number int) {
	ctx := r.Context()
	s.mu.Lock()
	defer s.mu.Unlock()
	br := s.refreshLocked(ctx)
	u := s.urlsFor(r)
	page := webPage{Repo: s.opts.Owner + "/" + s.opts.Repo, RepoURL: s.repoWebURL(u), CloneURL: s.GitURL(u.web)}
	if kind == "repo" {
		page.Title = page.Repo
		for i := len(s.issues) - 1; i >= 0; i-- {
			is := s.issues[i]
			row := webRow{Number: is.number, Kind: "issue", State: is.state, Title: is.title,
				URL: s.repoWebURL(u) + "/issues/" + strconv.Itoa(is.number)}
			if is.pr != nil {
				row.Kind, row.URL = "pull request", s.repoWebURL(u)+"/pull/"+strconv.Itoa(is.number)
				if is.pr.merged {
					row.State = "merged"
				}
			}
			page.List = append(page.List, row)
		}
		var b strings.Builder
		for _, name := range sortedKeys(br) {
			b.WriteString(br[name][:12] + "  " + name + "\n")
		}
		page.Branches = b.String()
	} else {
		is := s.issueByNumber(number)
		if is == nil || (kind == "pull") != (is.pr != nil) {
			http.NotFound(w, r)
			return
		}
		item := &webItem{Number: is.number, Title: is.title, Body: is.body, State: is.state, User: is.user,
			Labels: is.labels, Comments: snapshotComments(is.comments)}
		if is.state == "closed" {
			item.StateClass = "closed"
		}
		if p := is.pr; p != nil {
			item.Head, item.Base, item.HeadSHA, item.Reviewers = p.head, p.base, p.headSHA, append(clone(p.reviewers), p.teams...)
			if p.merged {
				item.State, item.StateClass, item.MergeCommit, item.MergeMethod = "merged", "merged", p.mergeCommitSHA, p.mergeMethod
			}
			if p.autoMerge != nil {
				item.AutoMerge = p.autoMerge.method + ", enabled by " + p.autoMerge.enabledBy
			}
			if is.state == "open" {
				item.Checks = checkContext + ": " + string(s.requiredStateLocked(p.headSHA))
			}
			if out, err := s.git.run(ctx, "", nil, nil, "log", "--format=%h %s", p.baseSHA+".."+p.headSHA); err == nil && !p.merged {
				item.Commits = out
			}
			if out, err := s.git.run(ctx, "", nil, nil, "diff", "--stat", p.baseSHA+"..."+p.headSHA); err == nil && !p.merged {
				item.Files = out
			}
		}
		page.Title = is.title + " #" + strconv.Itoa(is.number)
		page.Item = item
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTemplate.Execute(w, page)
}
