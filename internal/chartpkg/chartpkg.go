// Package chartpkg packages the Helm chart for a release, as `helm package
// --version V --app-version V` does: the chart's version and appVersion
// become the release's, so the chart of release 0.2.0 runs image tag 0.2.0
// (image.tag defaults to appVersion).
package chartpkg

import (
	"fmt"
	"os"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

// Package loads the chart in chartDir, sets its version and appVersion to
// version (a leading "v" is dropped: chart versions have none), checks it
// (Helm rejects a version that is not SemVer) and writes NAME-VERSION.tgz into destDir. It returns the archive's path.
func Package(chartDir, version, destDir string) (string, error) {
	v := strings.TrimPrefix(version, "v")
	ch, err := loader.LoadDir(chartDir)
	if err != nil {
		return "", fmt.Errorf("loading the chart %s: %w", chartDir, err)
	}
	ch.Metadata.Version = v
	ch.Metadata.AppVersion = v
	if err := ch.Validate(); err != nil {
		return "", fmt.Errorf("chart %s: %w", chartDir, err)
	}
	if err := os.MkdirAll(destDir, 0o755); err != nil {
		return "", err
	}
	path, err := chartutil.Save(ch, destDir)
	if err != nil {
		return "", fmt.Errorf("writing the chart archive: %w", err)
	}
	return path, nil
}
