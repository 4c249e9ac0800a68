// Package chartpkg packages the Helm chart for a release, as `helm package
// --version V --app-version V` does: the chart's version and appVersion
// become the release's, so the chart of release 0.2.0 runs image tag 0.2.0
// (image.tag defaults to appVersion). Check then does to the archive what
// `helm lint` and `helm template` do.
package chartpkg

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"sigs.k8s.io/yaml"
)

// namespace is the namespace the checks install into.
const namespace = "credrotate"

// Image is the repository of credrotate's image, which the chart runs.
const Image = "ghcr.io/credrotate/credrotate"

// ErrCheck is returned when a packaged chart fails a check.
var ErrCheck = errors.New("the packaged chart fails its checks")

// Package loads the chart in chartDir, sets its version and appVersion to
// version (a leading "v" is dropped: chart versions have none), checks it
// (Helm rejects a version that is not SemVer), removes any other
// NAME-*.tgz from destDir and writes NAME-VERSION.tgz there. It returns the
// archive's path.
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
	old, err := filepath.Glob(filepath.Join(destDir, ch.Name()+"-*.tgz"))
	if err != nil {
		return "", err
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return "", err
		}
	}
	path, err := chartutil.Save(ch, destDir)
	if err != nil {
		return "", fmt.Errorf("writing the chart archive: %w", err)
	}
	return path, nil
}

// Check lints the chart archive at path (warnings count as failures) and
// renders it with its default values, as `helm lint --strict` and `helm
// template` do, and checks that its version and appVersion are version and
// that the CronJob runs Image at tag version.
func Check(path, version string) error {
	v := strings.TrimPrefix(version, "v")
	ch, err := loader.Load(path)
	if err != nil {
		return fmt.Errorf("%w: loading %s: %w", ErrCheck, path, err)
	}
	if ch.Metadata.Version != v || ch.Metadata.AppVersion != v {
		return fmt.Errorf("%w: %s has version %q and appVersion %q, want %q", ErrCheck, path, ch.Metadata.Version, ch.Metadata.AppVersion, v)
	}

	// helm lint on an archive lints what it unpacks to.
	tmp, err := os.MkdirTemp("", "chartpkg-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := chartutil.ExpandFile(tmp, path); err != nil {
		return fmt.Errorf("%w: unpacking %s: %w", ErrCheck, path, err)
	}
	linter := lint.All(filepath.Join(tmp, ch.Name()), map[string]any{}, namespace, false)
	var problems []string
	for _, m := range linter.Messages {
		if m.Severity >= support.WarningSev {
			problems = append(problems, m.Error())
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: helm lint %s:\n  %s", ErrCheck, path, strings.Join(problems, "\n  "))
	}

	// helm template: the default values over the chart's, validated against
	// its schema, rendered.
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = chartutil.KubeVersion{Version: "v1.31.0", Major: "1", Minor: "31"}
	opts := chartutil.ReleaseOptions{Name: "credrotate", Namespace: namespace, Revision: 1, IsInstall: true}
	top, err := chartutil.ToRenderValuesWithSchemaValidation(ch, map[string]any{}, opts, caps, false)
	if err != nil {
		return fmt.Errorf("%w: helm template %s: %w", ErrCheck, path, err)
	}
	files, err := engine.Render(ch, top)
	if err != nil {
		return fmt.Errorf("%w: helm template %s: %w", ErrCheck, path, err)
	}
	var manifest strings.Builder
	for name, body := range files {
		if strings.HasSuffix(name, ".yaml") {
			manifest.WriteString("\n---\n" + body)
		}
	}
	want := Image + ":" + v
	if !runsImage(manifest.String(), want) {
		return fmt.Errorf("%w: the rendered CronJob does not run %s", ErrCheck, want)
	}
	return nil
}

// runsImage reports whether the CronJob in a rendered manifest runs image
// in its first container.
func runsImage(manifest, image string) bool {
	for _, doc := range strings.Split(manifest, "\n---") {
		var cj struct {
			Kind string `json:"kind"`
			Spec struct {
				JobTemplate struct {
					Spec struct {
						Template struct {
							Spec struct {
								Containers []struct {
									Image string `json:"image"`
								} `json:"containers"`
							} `json:"spec"`
						} `json:"template"`
					} `json:"spec"`
				} `json:"jobTemplate"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &cj); err != nil || cj.Kind != "CronJob" {
			continue
		}
		cs := cj.Spec.JobTemplate.Spec.Template.Spec.Containers
		return len(cs) > 0 && cs[0].Image == image
	}
	return false
}
