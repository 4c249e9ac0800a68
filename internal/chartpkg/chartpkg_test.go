package chartpkg

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

const chartDir = "../../charts/credrotate"

// TestPackageAndCheck packages the repository's chart as release 1.2.3
// would and runs helm lint and helm template on the .tgz.
func TestPackageAndCheck(t *testing.T) {
	t.Parallel()
	dest := t.TempDir()
	stale := filepath.Join(dest, "credrotate-0.0.1.tgz")
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := Package(chartDir, "v1.2.3", dest)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "credrotate-1.2.3.tgz" {
		t.Errorf("archive %s, want credrotate-1.2.3.tgz", path)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale archive is still there (%v)", err)
	}
	if err := Check(path, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	if err := Check(path, "1.2.4"); !errors.Is(err, ErrCheck) {
		t.Errorf("checked as 1.2.4: error %v, want ErrCheck", err)
	}
}

func TestPackageRefusesANonSemVerVersion(t *testing.T) {
	t.Parallel()
	if _, err := Package(chartDir, "latest", t.TempDir()); err == nil {
		t.Fatal("packaged as version latest")
	}
}

func TestRunsImage(t *testing.T) {
	t.Parallel()
	manifest := "---\nkind: ConfigMap\n---\nkind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n            - image: " + Image + ":1.0.0\n"
	if !runsImage(manifest, Image+":1.0.0") {
		t.Error("the CronJob's image is not found")
	}
	if runsImage(manifest, Image+":1.0.1") {
		t.Error("another tag is accepted")
	}
}
