// Command screenshots renders what a reviewer reads on GitHub — the rotation
// pull request's body and the dashboard issue, as real runs write them — as
// GitHub Flavored Markdown (goldmark, with GitHub's own stylesheet from the
// github-markdown-css package), and photographs each page in headless
// Chromium. `make screenshots` writes them to docs/screenshots, where they are
// reviewed and kept beside the benchmarks.
//
//	go run ./test/screenshots -out docs/screenshots
//
// Each page comes from a demo world (the Equifax emulator, localhub over a
// real bare repository): a scheduled run of N keys with the dashboard on.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"

	"github.com/credrotate/credrotate/internal/cli"
	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/internal/sandbox/sandboxcmd"
	"github.com/credrotate/credrotate/pkg/forge"
)

func main() {
	out := flag.String("out", "docs/screenshots", "folder to write the pictures (and their HTML) to")
	css := flag.String("css", "test/screenshots/node_modules/github-markdown-css/github-markdown-light.css", "GitHub's Markdown stylesheet (npm ci --prefix test/screenshots)")
	chromium := flag.String("chromium", "chromium", "the Chromium (or Chrome) program (apt-get install chromium)")
	flag.Parse()
	if err := run(context.Background(), *out, *css, *chromium); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
}

// page is one picture: a Markdown text and the height of the window it is
// photographed in.
type page struct {
	name     string
	title    string
	markdown string
	height   int
}

func run(ctx context.Context, out, cssPath, chromium string) error {
	css, err := os.ReadFile(cssPath)
	if err != nil {
		return fmt.Errorf("GitHub's stylesheet: %w (run npm ci --prefix test/screenshots)", err)
	}
	if _, err := exec.LookPath(chromium); err != nil {
		return fmt.Errorf("%s: %w (apt-get install chromium)", chromium, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var pages []page
	for _, n := range []int{4, 100, 1000} {
		pr, dash, err := scheduledRun(ctx, n)
		if err != nil {
			return fmt.Errorf("a run of %d keys: %w", n, err)
		}
		pages = append(pages, page{fmt.Sprintf("pr-body-%d-keys", n), pr.Title, pr.Body, 1400})
		if n == 4 {
			pages = append(pages, page{"dashboard-4-keys", dash.Title, dash.Body, 1400})
		}
	}
	for _, p := range pages {
		doc, err := htmlPage(p, string(css))
		if err != nil {
			return err
		}
		htmlFile, err := filepath.Abs(filepath.Join(out, p.name+".html"))
		if err != nil {
			return err
		}
		if err := os.WriteFile(htmlFile, doc, 0o644); err != nil {
			return err
		}
		png := filepath.Join(out, p.name+".png")
		if err := photograph(ctx, chromium, htmlFile, png, p.height); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		// The HTML is a step, not a result: only the picture is kept.
		_ = os.Remove(htmlFile)
		fmt.Println("wrote", png)
	}
	return nil
}

// shown is a pull request or issue as GitHub shows it.
type shown struct{ Title, Body string }

// scheduledRun runs `credrotate renew --cron-mode` with the dashboard on in
// a demo world of n keys, and returns the pull request it opened and the
// dashboard issue.
func scheduledRun(ctx context.Context, n int) (pr, dash shown, err error) {
	dir, err := os.MkdirTemp("", "credrotate-screenshots-")
	if err != nil {
		return pr, dash, err
	}
	defer os.RemoveAll(dir)
	w, err := demo.Start(ctx, demo.Options{Dir: dir, Keys: n, ExpiresIn: 10 * 24 * time.Hour})
	if err != nil {
		return pr, dash, err
	}
	defer w.Close()
	if err := os.Setenv(demo.TokenEnv, demo.Token); err != nil {
		return pr, dash, err
	}
	var stderr bytes.Buffer
	runErr := cli.Run(ctx, []string{"renew", "--cron-mode", "--config", w.ConfigPath, "--set", "github.dashboard.enabled=true", "--log-level", "error"},
		strings.NewReader(""), io.Discard, &stderr, sandboxcmd.Commands...)
	if code := cli.ExitCode(runErr, &stderr); code != 0 {
		return pr, dash, fmt.Errorf("renew: exit %d: %s", code, stderr.String())
	}
	prs := w.Hub.PullRequests()
	if len(prs) == 0 {
		return pr, dash, errors.New("the run opened no pull request")
	}
	pr = shown{prs[0].Title, prs[0].Body}
	for _, is := range w.Hub.Issues() {
		if strings.Contains(is.Body, forge.DashboardMarker) {
			dash = shown{is.Title, is.Body}
		}
	}
	if dash.Body == "" {
		return pr, dash, errors.New("the run wrote no dashboard issue")
	}
	return pr, dash, nil
}

// alert matches a GitHub alert ("> [!IMPORTANT]") as goldmark renders it:
// a blockquote whose first paragraph starts with the tag.
var alert = regexp.MustCompile(`<blockquote>\n<p>\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\n?`)

// htmlPage renders p's Markdown the way GitHub does and wraps it in a page
// styled with GitHub's stylesheet, at the width of a GitHub comment.
func htmlPage(p page, css string) ([]byte, error) {
	md := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
	var body bytes.Buffer
	if err := md.Convert([]byte(p.markdown), &body); err != nil {
		return nil, err
	}
	// GitHub renders alerts as titled boxes; goldmark knows only the
	// blockquote, so give it the classes GitHub's stylesheet styles.
	rendered := alert.ReplaceAllStringFunc(body.String(), func(m string) string {
		kind := strings.ToLower(alert.FindStringSubmatch(m)[1])
		return `<blockquote class="markdown-alert markdown-alert-` + kind + `"><p class="markdown-alert-title">` + strings.ToUpper(kind[:1]) + kind[1:] + `</p><p>`
	})
	var b bytes.Buffer
	fmt.Fprintf(&b, `<!DOCTYPE html><html><head><meta charset="utf-8"><title>%s</title><style>%s
body { margin: 0; background: #fff; }
.page { box-sizing: border-box; max-width: 980px; padding: 24px 32px; }
.title { font: 600 24px -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; margin: 0 0 16px; color: #1f2328; }
.markdown-alert { padding: 8px 16px; border-left: .25em solid #0969da; color: inherit; }
.markdown-alert-important { border-left-color: #8250df; }
.markdown-alert-warning { border-left-color: #9a6700; }
.markdown-alert-caution { border-left-color: #cf222e; }
.markdown-alert-title { font-weight: 600; margin-bottom: 4px; }
</style></head><body><div class="page"><h1 class="title">%s</h1><article class="markdown-body">%s</article></div></body></html>`,
		html.EscapeString(p.title), css, html.EscapeString(p.title), rendered)
	return b.Bytes(), nil
}

// photograph opens file in headless Chromium and writes a PNG of its
// window to png.
func photograph(ctx context.Context, chromium, file, png string, height int) error {
	abs, err := filepath.Abs(png)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--screenshot="+abs, fmt.Sprintf("--window-size=1000,%d", height), "file://"+file)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", chromium, err, out.String())
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("%s wrote no picture:\n%s", chromium, out.String())
	}
	return nil
}
