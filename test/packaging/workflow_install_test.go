package packaging

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/credrotate/credrotate/internal/testenv"
)

// releaseArchive builds a release archive as GoReleaser does: a tar.gz
// holding an executable credrotate (here a script that prints its version)
// and the README.
func releaseArchive(t *testing.T, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range []struct {
		name string
		mode int64
		body string
	}{
		{"README.md", 0o644, "# credrotate\n"},
		{"credrotate", 0o755, "#!/bin/sh\necho \"credrotate " + version + " (commit test, built today)\"\n"},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestWorkflowInstallStep runs the workflow's install step, as the runner
// would, against a release directory served on loopback: it installs a
// release whose archive matches checksums.txt, and stops the job, installing
// nothing, when the archive does not match, is not listed, or is missing.
func TestWorkflowInstallStep(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "tar", "sha256sum", "awk"} {
		testenv.LookPath(t, tool, "apt-get install "+tool+" (GitHub's runners have it)")
	}
	step := workflowSteps(t)["Install credrotate"]
	if got := step.Env["CREDROTATE_RELEASES"]; got != "https://github.com/credrotate/credrotate/releases/download" {
		t.Errorf("the step downloads from %q, not the project's releases", got)
	}
	// The names the step asks for are the names .goreleaser.yaml gives.
	gr := string(readFile(t, ".goreleaser.yaml"))
	for _, want := range []string{`name_template: "{{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}"`, "name_template: checksums.txt", "algorithm: sha256"} {
		if !strings.Contains(gr, want) {
			t.Errorf(".goreleaser.yaml lacks %s, which the install step relies on", want)
		}
	}

	const version = "v9.8.7"
	archive := releaseArchive(t, version)
	name := "credrotate_9.8.7_linux_amd64.tar.gz"
	other := "credrotate_9.8.7_darwin_arm64.tar.gz"
	good := sha256hex(archive) + "  " + name + "\n" + sha256hex([]byte("x")) + "  " + other + "\n"

	for _, tc := range []struct {
		name      string
		checksums string
		served    []byte // the archive as served; nil: 404
		version   string
		wantCode  int // 0, or -1 for any failure
		wantOut   string
	}{
		{"matches", good, archive, version, 0, "credrotate " + version + " (commit test"},
		{"wrong checksum", strings.Replace(good, sha256hex(archive), sha256hex([]byte("not it")), 1), archive, version, -1, "FAILED"},
		{"tampered archive", good, append(append([]byte(nil), archive...), 0), version, -1, "FAILED"},
		{"not listed", sha256hex([]byte("x")) + "  " + other + "\n", archive, version, -1, "does not list " + name},
		{"listed under a longer name", sha256hex(archive) + "  " + name + ".bak\n", archive, version, -1, "does not list"},
		{"no archive", good, nil, version, -1, ""},
		{"not a version", good, archive, "latest", 2, "is not a release version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				switch r.URL.Path {
				case "/" + tc.version + "/checksums.txt":
					_, _ = w.Write([]byte(tc.checksums))
				case "/" + tc.version + "/" + name:
					if tc.served == nil {
						http.NotFound(w, r)
						return
					}
					_, _ = w.Write(tc.served)
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			tmp := t.TempDir()
			ghPath := filepath.Join(tmp, "github_path")
			if err := os.WriteFile(ghPath, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			out, code := runStep(t, step, map[string]string{
				"PATH":                os.Getenv("PATH"),
				"RUNNER_OS":           "Linux",
				"RUNNER_ARCH":         "X64",
				"RUNNER_TEMP":         tmp,
				"GITHUB_PATH":         ghPath,
				"CREDROTATE_VERSION":  tc.version,
				"CREDROTATE_RELEASES": srv.URL,
			})
			installed := filepath.Join(tmp, "credrotate-"+tc.version, "bin", "credrotate")
			added, err := os.ReadFile(ghPath)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantOut != "" && !strings.Contains(out, tc.wantOut) {
				t.Errorf("output lacks %q:\n%s", tc.wantOut, out)
			}
			if tc.wantCode == 0 {
				if code != 0 {
					t.Fatalf("exit %d:\n%s", code, out)
				}
				if strings.TrimSpace(string(added)) != filepath.Dir(installed) {
					t.Errorf("GITHUB_PATH has %q, want %s", added, filepath.Dir(installed))
				}
				if fi, err := os.Stat(installed); err != nil || fi.Mode()&0o111 == 0 {
					t.Errorf("credrotate is not installed as an executable: %v", err)
				}
				return
			}
			if code == 0 || (tc.wantCode > 0 && code != tc.wantCode) {
				t.Fatalf("exit %d, want a failure (%d):\n%s", code, tc.wantCode, out)
			}
			if len(added) != 0 {
				t.Errorf("a failed install added %q to GITHUB_PATH", added)
			}
			if _, err := os.Stat(installed); err == nil {
				t.Error("a failed install left a credrotate binary")
			}
			if tc.wantCode == 2 && requests.Load() != 0 {
				t.Errorf("a bad version was still downloaded (%d requests)", requests.Load())
			}
		})
	}
}

// TestWorkflowInstallsARelease: the workflow installs a released binary, not
// a build of a tag with go install.
func TestWorkflowInstallsARelease(t *testing.T) {
	t.Parallel()
	src := string(readFile(t, workflowPath))
	if strings.Contains(src, "go install") || strings.Contains(src, "setup-go") {
		t.Error("the workflow builds credrotate from source; it should install a release")
	}
	if !strings.Contains(src, "checksums.txt") {
		t.Error("the workflow does not check the download against checksums.txt")
	}
}
