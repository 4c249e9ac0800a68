// Package release checks what `make release-snapshot` wrote into dist/, as a
// user who downloads a release would find it: every archive named in
// checksums.txt matches its checksum and holds a credrotate binary built for
// its platform with -trimpath, CGO off and the release's version stamped;
// the one for this machine runs `version`; every archive has an SPDX SBOM
// that lists the key libraries at go.mod's versions; the packaged chart
// carries the release's version and passes helm lint and helm template.
//
// Without dist/ the tests skip (an environment skip), or fail under CI=true.
// `make test` leaves this package out; `make release-snapshot release-test`
// runs it.
package release

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/credrotate/credrotate/internal/chartpkg"
	"github.com/credrotate/credrotate/internal/testenv"
)

// keyModules are the libraries each binary and SBOM must name at go.mod's
// versions.
var keyModules = []string{
	"github.com/google/go-github/v60",
	"github.com/bitnami-labs/sealed-secrets",
	"github.com/go-git/go-git/v5",
	"github.com/spf13/viper",
	"github.com/hooklift/gowsdl",
	"github.com/sirupsen/logrus",
}

// platforms are the builds a release has (.goreleaser.yaml).
var platforms = []string{"darwin_amd64", "darwin_arm64", "linux_amd64", "linux_arm64"}

// maxBinary bounds what is read of an archive's member.
const maxBinary = 512 << 20

var archiveRE = regexp.MustCompile(`^credrotate_(.+)_(linux|darwin)_(amd64|arm64)\.tar\.gz$`)

// dist is what the tests read, loaded once.
type dist struct {
	dir       string
	version   string
	commit    string
	checksums map[string]string // file name -> sha256 hex
	want      map[string]string // key module -> go.mod's version
}

var (
	loadOnce sync.Once
	loaded   *dist
	loadErr  error
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// release returns dist/ as make release-snapshot left it, or skips (fails
// under CI) when it is not there.
func release(t *testing.T) *dist {
	t.Helper()
	dir := filepath.Join(repoRoot(), "dist")
	if d := os.Getenv("CREDROTATE_DIST"); d != "" {
		dir = d
	}
	testenv.File(t, filepath.Join(dir, "checksums.txt"), "a release snapshot", "make release-snapshot (several minutes the first time: it builds GoReleaser and syft)")
	loadOnce.Do(func() { loaded, loadErr = load(dir) })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return loaded
}

func load(dir string) (*dist, error) {
	d := &dist{dir: dir, checksums: map[string]string{}, want: map[string]string{}}
	b, err := os.ReadFile(filepath.Join(dir, "metadata.json"))
	if err != nil {
		return nil, err
	}
	var meta struct {
		Version string `json:"version"`
		Commit  string `json:"commit"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("metadata.json: %w", err)
	}
	d.version, d.commit = meta.Version, meta.Commit
	if d.version == "" {
		return nil, errors.New("metadata.json names no version")
	}
	sums, err := os.ReadFile(filepath.Join(dir, "checksums.txt"))
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || len(f[0]) != 64 {
			return nil, fmt.Errorf("checksums.txt: line %q is not \"<sha256>  <file>\"", sc.Text())
		}
		d.checksums[f[1]] = f[0]
	}
	// go.mod's versions, as the go command resolves them (replacements
	// included).
	cmd := exec.Command("go", append([]string{"list", "-m", "-f", "{{.Path}} {{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}"}, keyModules...)...)
	cmd.Dir = repoRoot()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m: %w", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			d.want[f[0]] = f[1]
		}
	}
	if len(d.want) != len(keyModules) {
		return nil, fmt.Errorf("go list -m found %v, want all of %v", d.want, keyModules)
	}
	return d, nil
}

// archives returns the archives checksums.txt names, by platform.
func (d *dist) archives(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name := range d.checksums {
		m := archiveRE.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		if m[1] != d.version {
			t.Errorf("%s: version %s, want %s", name, m[1], d.version)
		}
		out[m[2]+"_"+m[3]] = name
	}
	for _, p := range platforms {
		if out[p] == "" {
			t.Errorf("checksums.txt names no archive for %s: %v", p, d.checksums)
		}
	}
	if len(out) != len(platforms) {
		t.Errorf("archives for %d platforms, want %v", len(out), platforms)
	}
	return out
}

func TestChecksumsMatch(t *testing.T) {
	t.Parallel()
	d := release(t)
	for name, want := range d.checksums {
		f, err := os.Open(filepath.Join(d.dir, name))
		if err != nil {
			t.Errorf("checksums.txt names %s: %v", name, err)
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			t.Errorf("%s: sha256 %s, checksums.txt says %s", name, got, want)
		}
	}
	// Everything a user downloads is in checksums.txt.
	files, err := filepath.Glob(filepath.Join(d.dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		base := filepath.Base(f)
		if (strings.HasSuffix(base, ".tar.gz") || strings.HasSuffix(base, ".tgz") || strings.HasSuffix(base, ".sbom.json")) && d.checksums[base] == "" {
			t.Errorf("%s is not in checksums.txt", base)
		}
	}
	d.archives(t)
	if d.checksums["credrotate-"+d.version+".tgz"] == "" {
		t.Errorf("checksums.txt does not name the chart credrotate-%s.tgz", d.version)
	}
}

// extract returns the members of a .tar.gz archive by name.
func extract(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxBinary+1))
		if err != nil {
			t.Fatalf("%s: %s: %v", path, h.Name, err)
		}
		if len(b) > maxBinary {
			t.Fatalf("%s: %s is over %d bytes", path, h.Name, maxBinary)
		}
		out[h.Name] = b
	}
}

// TestArchivesHoldTheBinary: every archive holds credrotate (and the README
// and CHANGELOG), built for its platform from the release's commit with
// -trimpath and CGO off, with the version stamped and the key libraries at
// go.mod's versions. None links the sandbox.
func TestArchivesHoldTheBinary(t *testing.T) {
	t.Parallel()
	d := release(t)
	for platform, name := range d.archives(t) {
		t.Run(platform, func(t *testing.T) {
			t.Parallel()
			files := extract(t, filepath.Join(d.dir, name))
			for _, want := range []string{"credrotate", "README.md", "CHANGELOG.md"} {
				if _, ok := files[want]; !ok {
					t.Errorf("%s has no %s (has %d files)", name, want, len(files))
				}
			}
			bin := files["credrotate"]
			if bin == nil {
				return
			}
			bi, err := readBuildInfo(bin)
			if err != nil {
				t.Fatalf("%s: credrotate has no Go build info: %v", name, err)
			}
			if bi.Path != "github.com/credrotate/credrotate/cmd/credrotate" {
				t.Errorf("%s: built from %s", name, bi.Path)
			}
			goos, goarch, _ := strings.Cut(platform, "_")
			settings := map[string]string{}
			for _, s := range bi.Settings {
				settings[s.Key] = s.Value
			}
			for k, v := range map[string]string{"GOOS": goos, "GOARCH": goarch, "CGO_ENABLED": "0", "-trimpath": "true"} {
				if settings[k] != v {
					t.Errorf("%s: build setting %s=%q, want %q", name, k, settings[k], v)
				}
			}
			// With -trimpath Go leaves -ldflags out of the build info (they may
			// hold paths, go.dev/issue/52372), so the stamp is looked for in the
			// binary itself; TestVersionRunsOnThisPlatform reads it back from
			// `version` where the binary runs.
			if !bytes.Contains(bin, []byte(d.version)) {
				t.Errorf("%s: the version %s is not stamped in the binary", name, d.version)
			}
			deps := map[string]string{}
			for _, m := range bi.Deps {
				deps[m.Path] = m.Version
				if m.Replace != nil {
					deps[m.Path] = m.Replace.Version
				}
			}
			for _, m := range keyModules {
				if deps[m] != d.want[m] {
					t.Errorf("%s: %s %q, go.mod has %s", name, m, deps[m], d.want[m])
				}
			}
			if bytes.Contains(bin, []byte("credrotate/internal/sandbox")) {
				t.Errorf("%s: the binary links internal/sandbox", name)
			}
		})
	}
}

// readBuildInfo reads a Go binary's build information (any platform's).
func readBuildInfo(bin []byte) (*debug.BuildInfo, error) {
	return buildinfo.Read(bytes.NewReader(bin))
}

// TestVersionRunsOnThisPlatform runs the archive built for this machine.
func TestVersionRunsOnThisPlatform(t *testing.T) {
	t.Parallel()
	d := release(t)
	platform := runtime.GOOS + "_" + runtime.GOARCH
	name := d.archives(t)[platform]
	if name == "" {
		t.Skipf("no archive for %s: releases are built for %v", platform, platforms)
	}
	bin := filepath.Join(t.TempDir(), "credrotate")
	if err := os.WriteFile(bin, extract(t, filepath.Join(d.dir, name))["credrotate"], 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("%s version -o json: %v", name, err)
	}
	var v struct {
		Version, Commit, Date, GoVersion, Platform string
		Modules                                    map[string]string
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, out)
	}
	if v.Version != d.version {
		t.Errorf("version %q, want %q", v.Version, d.version)
	}
	if !regexp.MustCompile(`^[0-9a-f]{7,40}$`).MatchString(v.Commit) || !strings.HasPrefix(d.commit, v.Commit) {
		t.Errorf("commit %q, want the short form of the release's commit %q", v.Commit, d.commit)
	}
	if v.Date == "" || v.Date == "unknown" || v.GoVersion == "" || v.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("version -o json: %s", out)
	}
	for _, m := range keyModules {
		if v.Modules[m] != d.want[m] {
			t.Errorf("version says %s %q, go.mod has %s", m, v.Modules[m], d.want[m])
		}
	}
	table, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(table), "credrotate "+d.version+" ") {
		t.Errorf("version: %v\n%s", err, table)
	}
}

// TestSBOMs: each archive has an SPDX SBOM naming the key libraries at
// go.mod's versions.
func TestSBOMs(t *testing.T) {
	t.Parallel()
	d := release(t)
	for platform, name := range d.archives(t) {
		t.Run(platform, func(t *testing.T) {
			t.Parallel()
			sbom := name + ".sbom.json"
			b, err := os.ReadFile(filepath.Join(d.dir, sbom))
			if err != nil {
				t.Fatalf("no SBOM for %s: %v", name, err)
			}
			var doc struct {
				SPDXVersion string `json:"spdxVersion"`
				Packages    []struct {
					Name        string `json:"name"`
					VersionInfo string `json:"versionInfo"`
				} `json:"packages"`
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatalf("%s: %v", sbom, err)
			}
			if !strings.HasPrefix(doc.SPDXVersion, "SPDX-2.") {
				t.Errorf("%s: spdxVersion %q", sbom, doc.SPDXVersion)
			}
			got := map[string][]string{}
			for _, p := range doc.Packages {
				got[p.Name] = append(got[p.Name], p.VersionInfo)
			}
			for _, m := range keyModules {
				found := false
				for _, v := range got[m] {
					found = found || v == d.want[m]
				}
				if !found {
					t.Errorf("%s lists %s at %v, want %s (go.mod); it has %d packages", sbom, m, got[m], d.want[m], len(doc.Packages))
				}
			}
		})
	}
}

// TestChart: the packaged chart carries the release's version and
// appVersion, runs the release's image, and passes helm lint and helm
// template.
func TestChart(t *testing.T) {
	t.Parallel()
	d := release(t)
	path := filepath.Join(d.dir, "credrotate-"+d.version+".tgz")
	if err := chartpkg.Check(path, d.version); err != nil {
		t.Fatal(err)
	}
}
